"""`broadsheet export jsonl [-o FILE]`: every paper in Broadsheet's JSON Lines format."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from broadsheet.ingest.jsonl import export_jsonl
from broadsheet.lib.progress import progress_bar
from broadsheet.papers.models import Paper


class Command(BaseCommand):
    help = "Export every paper as JSON Lines (the format `broadsheet ingest jsonl` reads)."

    def add_arguments(self, parser):
        parser.add_argument("format", choices=["jsonl"])
        parser.add_argument("-o", "--output", default="-", help="file to write, or - for stdout")

    def handle(self, *args, format, output, **options):
        try:
            out = self.stdout if output == "-" else open(output, "w", encoding="utf-8")  # noqa: SIM115
        except OSError as e:
            raise CommandError(f"{output}: {e.strerror}") from None
        try:
            with progress_bar("export", total=Paper.objects.count()) as bar:
                n = export_jsonl(out, progress=bar)
        finally:
            if out is not self.stdout:
                out.close()
        self.stderr.write(f"exported {n} papers")
