"""`broadsheet backup PATH`: a consistent copy of the running site's database."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from broadsheet.ops.backup import BackupError, backup


class Command(BaseCommand):
    help = (
        "Copy the database into the new directory PATH while the site runs (SQLite's online "
        "backup; pg_dump in PostgreSQL mode), with manifest.json (rows per table). Search "
        "indexes are rebuilt from the database on restore."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", help="a directory that does not exist yet (or is empty)")

    def handle(self, *args, path: str, **options):
        try:
            manifest = backup(Path(path))
        except BackupError as e:
            raise CommandError(str(e)) from None
        rows = sum(manifest["rows"].values())
        self.stdout.write(
            f"Backed up {manifest['engine']} database to {path}: "
            f"{len(manifest['rows'])} tables, {rows} rows"
        )
