"""PostgreSQL: the indexes only the database engine reads (BROADSHEET_SEARCH_ENGINE=database)
are dropped where the embedded engine runs, the default: the tsvector's GIN index, pgvector's
HNSW graph (which PostgreSQL would otherwise update for every vector stored) and the index of
documents without a tsvector (which, there, would hold every document). The database engine
makes them again when they are missing (PostgresBackend.catch_up: every import, `embed` and
`reindex`; until then its /readyz says to run `broadsheet reindex`). Nothing on SQLite."""

from django.conf import settings
from django.db import migrations

INDEXES = {
    "search_document_no_tsv": "ON search_document (paper_id) WHERE tsv IS NULL",
    "search_document_tsv": "ON search_document USING gin (tsv)",
    "search_document_embedding_hnsw": "ON search_document USING hnsw (embedding vector_cosine_ops)",
}


def drop_unread(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql" and settings.SEARCH_ENGINE == "embedded":
        for name in INDEXES:
            schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for name, definition in INDEXES.items():
            schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} {definition}")


class Migration(migrations.Migration):
    dependencies = [
        ("search", "0008_search_outbox"),
    ]

    operations = [migrations.RunPython(drop_unread, create)]
