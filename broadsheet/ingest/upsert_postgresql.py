"""How an ingest batch writes to PostgreSQL: COPY and one set-based statement per table.

upsert.Upserter decides what a batch changes (which papers are new, which fields a record
updates, whose authors change), the same on both databases; on PostgreSQL these functions
write it. New papers are copied straight into papers_paper under ids drawn from its
sequence; changed papers, and the authors of new or changed ones, go through temporary
staging tables merged by one statement each (authors by name, with ON CONFLICT). So a
batch is a handful of statements whatever its size, in the batch's transaction: a killed
import keeps whole batches only, as on SQLite. bench/README.md ("ingest.py") has the
figures.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db import connection
from django.db.models import Field

from broadsheet.lib.pg_copy import copy_rows, staged
from broadsheet.papers.models import Author, Authorship, Paper


def insert_papers(fields: Sequence[Field], rows: list[tuple], slugs: list[str]) -> dict[str, int]:
    """COPY new papers (`rows`: values of `fields`, adapted) into papers_paper; returns
    their ids by slug. The ids are drawn from the table's sequence first, so nothing is
    read back."""
    table = Paper._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
            [table, len(rows)],
        )
        ids = [r[0] for r in cursor.fetchall()]
    columns = ["id", *(f.column for f in fields)]
    copy_rows(table, columns, ((pid, *row) for pid, row in zip(ids, rows, strict=True)))
    return dict(zip(slugs, ids, strict=True))


def update_papers(papers: list[Paper], names: Sequence[str]) -> None:
    """Write these fields of changed papers: staged, then one UPDATE ... FROM."""
    fields = [Paper._meta.get_field(name) for name in names]
    quote = connection.ops.quote_name
    definition = ", ".join(
        ["id bigint", *(f"{quote(f.column)} {f.db_type(connection)}" for f in fields)]
    )
    rows = (
        (p.pk, *(f.get_db_prep_save(getattr(p, f.attname), connection) for f in fields))
        for p in papers
    )
    stage = staged("ingest_paper", definition, ["id", *(f.column for f in fields)], rows)
    sets = ", ".join(f"{quote(f.column)} = s.{quote(f.column)}" for f in fields)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {Paper._meta.db_table} p SET {sets} FROM {stage} s WHERE p.id = s.id"
        )


def set_authors(items: list[tuple[int, list[str]]], replace: bool) -> None:
    """Store the authors, in order, of (paper id, names) pairs: the names staged, missing
    authors created, authorships inserted by joining on the name. A name whose author
    was deleted meanwhile is simply created again."""
    authorship, author = Authorship._meta.db_table, Author._meta.db_table
    if replace:
        with connection.cursor() as cursor:
            cursor.execute(
                f"DELETE FROM {authorship} WHERE paper_id = ANY(%s)",
                [[paper_id for paper_id, _ in items]],
            )
    rows = ((pid, i, name) for pid, names in items for i, name in enumerate(names))
    stage = staged(
        "ingest_authorship", "paper_id bigint, position integer, name text",
        ["paper_id", "position", "name"], rows,
    )  # fmt: skip
    with connection.cursor() as cursor:
        # New names in a fixed order, so that two imports at once take the unique index's
        # locks in the same order (no deadlock); ON CONFLICT covers a name the other one
        # inserts meanwhile.
        cursor.execute(
            f"INSERT INTO {author} (name) SELECT DISTINCT s.name FROM {stage} s "
            f"WHERE NOT EXISTS (SELECT 1 FROM {author} a WHERE a.name = s.name) "
            "ORDER BY 1 ON CONFLICT (name) DO NOTHING"
        )
        cursor.execute(
            f"INSERT INTO {authorship} (paper_id, author_id, position) "
            f"SELECT s.paper_id, a.id, s.position FROM {stage} s "
            f"JOIN {author} a ON a.name = s.name"
        )
