"""Migrations on start, safe when several servers start at once.

Django's `migrate` takes no lock: two web servers starting together against one PostgreSQL
could both try to apply the same migration. An advisory lock lets the first apply them and
the others find nothing left to do. SQLite serialises writers by itself (one machine).
"""

from __future__ import annotations

from contextlib import contextmanager

from django.core.management import call_command
from django.db import connection

# An arbitrary constant naming "broadsheet migrations" among advisory locks.
MIGRATE_LOCK = 0x62736D67


@contextmanager
def _lock():
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s)", [MIGRATE_LOCK])
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [MIGRATE_LOCK])


def migrate_locked(verbosity: int = 1) -> None:
    with _lock():
        call_command("migrate", interactive=False, verbosity=verbosity)
