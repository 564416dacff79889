"""ContentVersion and the triggers that bump it.

SQLite has only row-level triggers (about 0.7 µs a row on an import, measured); PostgreSQL
bumps it once per statement, so an import's COPY or a bulk update costs one row update."""

from django.db import migrations, models

# The tables whose rows appear on a public page (paper, day/week/month, trending).
TABLES = [
    "papers_paper",
    "papers_author",
    "papers_authorship",
    "papers_listing",
    "papers_upvote",
    "papers_comment",
    "papers_authorclaim",
]
# The value is the time in microseconds, or one more than before if that is not later: it
# only grows, even across a restore of an older backup or a wiped table, so a page cached
# under an earlier value is never taken for the current one. The row is created on demand.
NOW_SQLITE = "CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER)"
NOW_POSTGRESQL = "(extract(epoch FROM clock_timestamp()) * 1000000)::bigint"
BUMP = (
    "INSERT INTO papers_contentversion (id, value) VALUES (1, {now}) ON CONFLICT (id) "
    "DO UPDATE SET value = {greatest}(papers_contentversion.value + 1, excluded.value)"
)
EVENTS = ["INSERT", "UPDATE", "DELETE"]


def create_triggers(apps, schema_editor):
    run = schema_editor.execute
    if schema_editor.connection.vendor == "postgresql":
        run(
            "CREATE FUNCTION papers_bump_content_version() RETURNS trigger LANGUAGE plpgsql AS "
            f"$$ BEGIN {BUMP.format(now=NOW_POSTGRESQL, greatest='GREATEST')}; "
            "RETURN NULL; END $$"
        )
        for table in TABLES:
            run(
                f"CREATE TRIGGER {table}_content_version AFTER INSERT OR UPDATE OR DELETE "
                f"OR TRUNCATE ON {table} FOR EACH STATEMENT "
                "EXECUTE FUNCTION papers_bump_content_version()"
            )
    else:
        for table in TABLES:
            for event in EVENTS:
                run(
                    f"CREATE TRIGGER {table}_content_version_{event.lower()} AFTER {event} "
                    f"ON {table} BEGIN {BUMP.format(now=NOW_SQLITE, greatest='max')}; END"
                )


def drop_triggers(apps, schema_editor):
    run = schema_editor.execute
    if schema_editor.connection.vendor == "postgresql":
        for table in TABLES:
            run(f"DROP TRIGGER IF EXISTS {table}_content_version ON {table}")
        run("DROP FUNCTION IF EXISTS papers_bump_content_version()")
    else:
        for table in TABLES:
            for event in EVENTS:
                run(f"DROP TRIGGER IF EXISTS {table}_content_version_{event.lower()}")


class Migration(migrations.Migration):
    dependencies = [
        ("papers", "0008_keywords_sql_null"),
    ]

    operations = [
        migrations.CreateModel(
            name="ContentVersion",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("value", models.BigIntegerField(default=0)),
            ],
        ),
        migrations.RunPython(create_triggers, drop_triggers),
    ]
