"""SQLite mode's lexical index moves from FTS5 to a tantivy folder beside the database:
the FTS5 tables go, and a row records the current folder. Papers already in the database
are indexed by `broadsheet reindex` (or `broadsheet embed`, which indexes what is missing)."""

from django.db import migrations, models


def drop_fts5(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        schema_editor.execute("DROP TABLE IF EXISTS search_fts_vocab")
        schema_editor.execute("DROP TABLE IF EXISTS search_fts")


class Migration(migrations.Migration):

    dependencies = [
        ('search', '0001_initial'),
    ]

    operations = [
        migrations.CreateModel(
            name='LexicalIndexState',
            fields=[
                ('id', models.PositiveSmallIntegerField(default=1, primary_key=True, serialize=False)),
                ('dirname', models.CharField(max_length=200)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
            ],
            options={
                'db_table': 'search_lexical_index',
            },
        ),
        migrations.RunPython(drop_fts5, migrations.RunPython.noop, elidable=False),
    ]
