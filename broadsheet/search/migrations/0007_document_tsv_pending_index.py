"""PostgreSQL mode: the documents an interrupted import left without a tsvector, found
without a scan (postgresql/tsv_writer.py). Nothing on SQLite, which has no tsv column."""

from django.db import migrations


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "CREATE INDEX IF NOT EXISTS search_document_no_tsv ON search_document (paper_id) "
            "WHERE tsv IS NULL"
        )


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS search_document_no_tsv")


class Migration(migrations.Migration):
    dependencies = [
        ("search", "0006_vector_models"),
    ]

    operations = [migrations.RunPython(create_index, drop_index)]
