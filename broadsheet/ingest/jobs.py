"""Ingest runs: a source's pages through the shared upsert, with progress and final counts."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from broadsheet.ingest import arxiv_api, arxiv_oai, hf_daily
from broadsheet.ingest.http import PoliteClient
from broadsheet.ingest.models import HarvestState
from broadsheet.ingest.records import PaperRecord
from broadsheet.ingest.upsert import Counts, Upserter
from broadsheet.lib.progress import progress_bar
from broadsheet.papers.arrivals import mark_arrived

log = logging.getLogger("broadsheet.ingest")


def arxiv_client(**kwargs) -> PoliteClient:
    return PoliteClient(min_interval=settings.ARXIV_REQUEST_INTERVAL, **kwargs)


def ingest_arxiv(
    query: str,
    since: dt.date | None = None,
    max_results: int | None = None,
    page_size: int = 100,
    stop_after_idle_pages: int = 3,
    client: PoliteClient | None = None,
) -> Counts:
    """Search results, newest first, until `since`, `max_results`, or N pages with nothing new."""
    client = client or arxiv_client()
    upserter = Upserter()
    today = timezone.localdate()  # the arrival day of what this run brings (papers/arrivals.py)
    idle = 0
    with progress_bar(f"arxiv {query}", total=max_results) as bar:
        for page in arxiv_api.search_pages(client, query, page_size, max_results):
            records = page.records
            reached_since = False
            if since is not None:
                kept = [
                    r
                    for r in records
                    if not isinstance(r, PaperRecord)
                    or r.published_at is None
                    or r.published_at.date() >= since
                ]
                reached_since = len(kept) < len(records)
                records = kept
            before = upserter.counts.new + upserter.counts.updated
            upserter.run(records, progress=bar)
            mark_arrived(records, today)
            idle = idle + 1 if upserter.counts.new + upserter.counts.updated == before else 0
            if reached_since:
                break
            if idle >= stop_after_idle_pages:
                log.info("arxiv: %d pages in a row with nothing new; stopping", idle)
                break
    return upserter.counts


def ingest_oai(
    set_spec: str, from_date: dt.date | None = None, client: PoliteClient | None = None
) -> Counts:
    """A resumable harvest: the resumption token is saved after every stored page, so a killed
    harvest continues where it stopped; a finished one records its newest datestamp, where the
    next harvest of the set starts unless `from_date` says otherwise."""
    client = client or arxiv_client()
    state, _ = HarvestState.objects.get_or_create(name=f"oai:{set_spec}")
    token = state.resumption_token
    if token:
        log.info("oai %s: resuming an interrupted harvest", set_spec)
    else:
        state.started_from = from_date or state.last_datestamp
    upserter = Upserter()
    today = timezone.localdate()
    newest = state.last_datestamp
    with progress_bar(f"oai {set_spec}") as bar:
        for page in oai_pages(client, set_spec, state.started_from, token):
            with transaction.atomic():
                upserter.run(page.records, progress=bar)
                mark_arrived(page.records, today)
                if page.newest:
                    newest = max(newest or page.newest, page.newest)
                state.resumption_token = page.token
                state.save()
    state.last_datestamp = newest
    state.resumption_token = ""
    state.save()
    return upserter.counts


def oai_pages(
    client: PoliteClient, set_spec: str, from_date: dt.date | None, token: str
) -> Iterator[arxiv_oai.OaiPage]:
    """Pages of a harvest. Resumption tokens expire: when the source no longer knows the one a
    killed harvest saved, the harvest starts again from its `from` date (what it stored before
    comes back unchanged) instead of failing on every run until someone clears the token."""
    try:
        yield from arxiv_oai.harvest_pages(client, set_spec, from_date, token)
    except arxiv_oai.OaiError as e:
        if not token or e.code != "badResumptionToken":
            raise
        log.warning("oai %s: %s; starting the harvest again", set_spec, e)
        yield from arxiv_oai.harvest_pages(client, set_spec, from_date, "")


def ingest_hf_daily(period: dict[str, str], client: PoliteClient | None = None) -> Counts:
    client = client or PoliteClient(min_interval=1.0)
    upserter = Upserter()
    with progress_bar(f"hf-daily {next(iter(period.values()))}") as bar:
        for page in hf_daily.daily_pages(client, period):
            upserter.run(page, progress=bar)
    return upserter.counts
