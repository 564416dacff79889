"""Granting permissions to a group from a data migration (used by the papers migrations)."""

from __future__ import annotations


def grant(apps, group_name: str, permissions: list[tuple[str, str]]) -> None:
    """Add `(app_label, codename)` permissions to the group, creating both if needed."""
    from django.contrib.auth.management import create_permissions

    # Permissions are normally created after all migrations; make sure they exist now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name=group_name)
    for app_label, codename in permissions:
        group.permissions.add(
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
        )
