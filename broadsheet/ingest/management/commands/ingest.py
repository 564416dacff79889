"""`broadsheet ingest SOURCE ...`: bring papers in from a source, then report counts."""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import re
import sys

from django.core.management.base import BaseCommand, CommandError

from broadsheet.ingest import jobs
from broadsheet.ingest.arxiv_api import SourceError
from broadsheet.ingest.http import FetchError
from broadsheet.ingest.jsonl import read_jsonl_file
from broadsheet.ingest.upsert import BATCH_SIZE, upsert
from broadsheet.lib.progress import progress_bar

log = logging.getLogger("broadsheet.ingest")


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from None


def _pattern(regex: str, what: str):
    def check(text: str) -> str:
        if not re.fullmatch(regex, text):
            raise argparse.ArgumentTypeError(f"{text!r} is not {what}")
        return text

    return check


class Command(BaseCommand):
    help = (
        "Import papers from a source: arxiv (query API), oai (arXiv OAI-PMH bulk harvest), "
        "hf-daily (Hugging Face daily papers) or jsonl (Broadsheet's own format)."
    )

    def add_arguments(self, parser):
        sources = parser.add_subparsers(dest="source", required=True, metavar="SOURCE")
        arxiv = sources.add_parser("arxiv", help="arXiv query API, newest submissions first")
        arxiv.add_argument("--query", required=True, help="arXiv search query, e.g. 'cat:cs.LG'")
        arxiv.add_argument("--since", type=_date, help="stop at papers published before this date")
        arxiv.add_argument("--max", type=int, dest="max_results", help="at most this many results")
        arxiv.add_argument("--page-size", type=int, default=100)
        arxiv.add_argument(
            "--stop-after", type=int, default=3, help="stop after this many pages with nothing new"
        )
        oai = sources.add_parser("oai", help="arXiv OAI-PMH harvest of a set (resumable)")
        oai.add_argument(
            "--set", required=True, dest="set_spec", help="e.g. cs, math, physics:hep-th"
        )
        oai.add_argument(
            "--from",
            type=_date,
            dest="from_date",
            help="records changed since (default: last harvest)",
        )
        hf = sources.add_parser(
            "hf-daily", help="Hugging Face daily papers (BROADSHEET_HF_ENDPOINT)"
        )
        period = hf.add_mutually_exclusive_group(required=True)
        period.add_argument("--date", type=_date)
        period.add_argument("--week", type=_pattern(r"[0-9]{4}-W[0-9]{2}", "a week (YYYY-Www)"))
        period.add_argument("--month", type=_pattern(r"[0-9]{4}-[0-9]{2}", "a month (YYYY-MM)"))
        jsonl = sources.add_parser(
            "jsonl", help="a JSON Lines file in Broadsheet's format (docs/jsonl.md)"
        )
        jsonl.add_argument("file", help="path, or - for standard input")
        jsonl.add_argument("--batch-size", type=int, default=BATCH_SIZE)

    def handle(self, *args, source, **options):
        try:
            counts = getattr(self, f"ingest_{source.replace('-', '_')}")(**options)
        except (FetchError, SourceError) as e:
            log.error("ingest %s failed: %s", source, e)
            raise CommandError(str(e)) from None
        self.stdout.write(f"{source}: {counts}")
        log.info("ingest %s finished: %s", source, counts)

    def ingest_arxiv(self, query, since, max_results, page_size, stop_after, **options):
        return jobs.ingest_arxiv(query, since, max_results, page_size, stop_after)

    def ingest_oai(self, set_spec, from_date, **options):
        return jobs.ingest_oai(set_spec, from_date)

    def ingest_hf_daily(self, date, week, month, **options):
        period = (
            {"date": date.isoformat()} if date else {"week": week} if week else {"month": month}
        )
        return jobs.ingest_hf_daily(period)

    def ingest_jsonl(self, file, batch_size=BATCH_SIZE, **options):
        if file == "-":
            stream, name = sys.stdin.buffer, "stdin"
        else:
            try:
                stream, name = open(file, "rb"), file  # noqa: SIM115 (closed below)
            except OSError as e:
                raise CommandError(f"{file}: {e.strerror}") from None
        try:
            with progress_bar(f"jsonl {name}") as bar:
                return upsert(read_jsonl_file(stream, name), batch_size=batch_size, progress=bar)
        finally:
            if stream is not sys.stdin.buffer:
                stream.close()
