"""`broadsheet backfill --categories cs.LG,cs.CL --since 2015-01-01`: every paper of some arXiv
categories, harvested over OAI-PMH and made searchable (ops/backfill.py)."""

from __future__ import annotations

import argparse
import datetime as dt
import logging

from django.core.management.base import BaseCommand, CommandError

from broadsheet.ingest.arxiv_api import SourceError
from broadsheet.ingest.arxiv_categories import UnknownCategory, sets_for
from broadsheet.ingest.http import FetchError
from broadsheet.ops.backfill import backfill

log = logging.getLogger("broadsheet.ingest")


def _categories(text: str) -> list[str]:
    categories = [c.strip() for c in text.split(",") if c.strip()]
    if not categories:
        raise argparse.ArgumentTypeError("no category given (e.g. cs.LG,cs.CL)")
    try:
        sets_for(categories)
    except UnknownCategory as e:
        raise argparse.ArgumentTypeError(str(e)) from None
    return list(dict.fromkeys(categories))


def _date(text: str) -> dt.date:
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from None
    if day > dt.datetime.now(dt.UTC).date():
        raise argparse.ArgumentTypeError(f"{text} is in the future")
    return day


class Command(BaseCommand):
    help = (
        "Harvest every arXiv paper of some categories since a date (OAI-PMH), then import, "
        "index, embed and give keywords to them. Resumable; a second run does only what is "
        "missing (new records since the last harvest, papers without vectors or keywords)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--categories",
            required=True,
            type=_categories,
            help="comma-separated arXiv categories or archives, e.g. cs.LG,cs.CL or math",
        )
        parser.add_argument(
            "--since", type=_date, help="papers first published on or after this day (YYYY-MM-DD)"
        )
        parser.add_argument(
            "--no-keywords",
            action="store_true",
            help="skip the keywords stage (run `broadsheet keywords` later)",
        )

    def handle(self, *args, categories: list[str], since, no_keywords: bool, **options):
        try:
            counts = backfill(categories, since, keywords=not no_keywords)
        except (FetchError, SourceError) as e:
            log.error("backfill failed: %s", e)
            raise CommandError(str(e)) from None
        self.stdout.write(f"backfill: {counts}")
