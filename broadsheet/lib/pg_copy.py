"""PostgreSQL bulk writes: rows sent with COPY (psycopg 3's `cursor.copy()`), straight into
a table or into a temporary staging table that one set-based statement then merges.

One statement per table and batch, not one per row: besides the round trips, every
statement fires the statement-level triggers of the table (the page cache's content
version, papers migration 0009), and an executemany of N rows is N statements.
Errors come out as Django's (IntegrityError, DataError), as from `cursor.execute()`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from django.db import connection


def copy_rows(table: str, columns: Sequence[str], rows: Iterable[Sequence]) -> None:
    """COPY rows (tuples in the order of `columns`) into a table, in the caller's
    transaction. Values are adapted as query parameters are (datetimes, Jsonb, None)."""
    names = ", ".join(connection.ops.quote_name(c) for c in columns)
    with connection.cursor() as cursor, connection.wrap_database_errors:
        with cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)


def staged(name: str, definition: str, columns: Sequence[str], rows: Iterable[Sequence]) -> str:
    """A temporary table `name` (`definition`: its columns, or `LIKE some_table`) holding
    `rows`, dropped when the transaction ends; returns its name. A table of that name left
    by an earlier batch of the same transaction (a savepoint) is replaced."""
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS pg_temp.{name}")
        cursor.execute(f"CREATE TEMPORARY TABLE {name} ({definition}) ON COMMIT DROP")
    copy_rows(name, columns, rows)
    return name
