"""Listing.created, and the indexes of the API's `since` cursors.

On SQLite, adding a column with a default rebuilds the table, which drops its triggers: the
ContentVersion triggers of papers_listing (migration 0009) are made again. Listings stored
before this migration count as arrived when they were submitted."""

import importlib

import django.utils.timezone
from django.db import migrations, models


content_version = importlib.import_module("broadsheet.papers.migrations.0009_contentversion")


def listing_triggers_again(apps, schema_editor):
    if schema_editor.connection.vendor != "sqlite":
        return
    bump = content_version.BUMP.format(now=content_version.NOW_SQLITE, greatest="max")
    for event in content_version.EVENTS:
        schema_editor.execute(
            f"CREATE TRIGGER IF NOT EXISTS papers_listing_content_version_{event.lower()} "
            f"AFTER {event} ON papers_listing BEGIN {bump}; END"
        )


class Migration(migrations.Migration):
    dependencies = [
        ("papers", "0009_contentversion"),
    ]

    operations = [
        migrations.AddField(
            model_name="listing",
            name="created",
            field=models.DateTimeField(default=django.utils.timezone.now),
        ),
        migrations.RunSQL(
            "UPDATE papers_listing SET created = submitted_at", migrations.RunSQL.noop
        ),
        migrations.RunPython(listing_triggers_again, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name="listing",
            index=models.Index(fields=["created", "id"], name="papers_listing_created_idx"),
        ),
        migrations.AddIndex(
            model_name="paper",
            index=models.Index(fields=["modified", "id"], name="papers_paper_modified_idx"),
        ),
    ]
