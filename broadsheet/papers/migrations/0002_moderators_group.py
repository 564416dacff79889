"""A "Moderators" group that may hide papers, listings and comments and deactivate members.

Give a member staff status and this group to make them a moderator.
"""

from django.db import migrations

PERMISSIONS = [
    ("papers", "view_paper"),
    ("papers", "change_paper"),
    ("papers", "view_listing"),
    ("papers", "change_listing"),
    ("papers", "view_comment"),
    ("papers", "change_comment"),
    ("accounts", "view_user"),
    ("accounts", "change_user"),
]


def create_group(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    # Permissions are normally created after all migrations; make sure they exist now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name="Moderators")
    for app_label, codename in PERMISSIONS:
        group.permissions.add(
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
        )


class Migration(migrations.Migration):
    dependencies = [
        ("papers", "0001_initial"),
        ("accounts", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_group, migrations.RunPython.noop)]
