"""A "Moderators" group that may hide papers, listings and comments and deactivate members.

Give a member staff status and this group to make them a moderator.
"""

from django.db import migrations

from broadsheet.papers.groups import grant

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
    grant(apps, "Moderators", PERMISSIONS)


class Migration(migrations.Migration):
    dependencies = [
        ("papers", "0001_initial"),
        ("accounts", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_group, migrations.RunPython.noop)]
