"""`broadsheet ingest SOURCE ...`: bring papers in from a source, then report counts."""

from __future__ import annotations

import logging
import sys

from django.core.management.base import BaseCommand, CommandError

from broadsheet.ingest.jsonl import read_jsonl
from broadsheet.ingest.upsert import upsert
from broadsheet.lib.progress import progress_bar

log = logging.getLogger("broadsheet.ingest")


class Command(BaseCommand):
    help = "Import papers: from a JSON Lines file (jsonl)."

    def add_arguments(self, parser):
        sources = parser.add_subparsers(dest="source", required=True, metavar="SOURCE")
        jsonl = sources.add_parser("jsonl", help="a JSON Lines file in Broadsheet's record format, or - for stdin")
        jsonl.add_argument("file", help="path, or - for standard input")
        jsonl.add_argument("--batch-size", type=int, default=1000)

    def handle(self, *args, source, **options):
        counts = getattr(self, f"ingest_{source.replace('-', '_')}")(**options)
        self.stdout.write(f"{source}: {counts}")
        log.info("ingest %s finished: %s", source, counts)

    def ingest_jsonl(self, file, batch_size=1000, **options):
        if file == "-":
            stream, name = sys.stdin.buffer, "stdin"
        else:
            try:
                stream, name = open(file, "rb"), file  # noqa: SIM115 (closed below)
            except OSError as e:
                raise CommandError(f"{file}: {e.strerror}") from None
        try:
            with progress_bar(f"jsonl {name}") as bar:
                return upsert(read_jsonl(stream, name), batch_size=batch_size, progress=bar)
        finally:
            if stream is not sys.stdin.buffer:
                stream.close()
