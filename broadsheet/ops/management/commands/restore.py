"""`broadsheet restore PATH`: a backup into an empty data directory (or empty database)."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from broadsheet.ops.backup import BackupError, restore
from broadsheet.ops.migrate import migrate_locked


class Command(BaseCommand):
    help = (
        "Restore a `broadsheet backup` directory into this site's database, which must be "
        "empty; then apply newer migrations and rebuild the search indexes. Checks that every "
        "table has the rows the backup recorded."
    )
    requires_system_checks: list = []  # nothing may touch the (empty) database before us

    def add_arguments(self, parser):
        parser.add_argument("path", help="the backup directory")

    def handle(self, *args, path: str, **options):
        try:
            manifest = restore(Path(path))
        except BackupError as e:
            raise CommandError(str(e)) from None
        # restore() checked every table's row count before the database took its place.
        rows = manifest["rows"]
        self.stdout.write(f"Restored {sum(rows.values())} rows in {len(rows)} tables from {path}")
        migrate_locked(verbosity=0)
        from broadsheet.search.indexing import reindex

        self.stdout.write(f"Search: {reindex()}")
