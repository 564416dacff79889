"""Arrivals: the papers the arXiv ingest brought in for the site's categories
(BROADSHEET_INGEST_ARXIV_CATEGORIES), by the site day they arrived on (`Paper.arrived_on`).
What the "New" view shows, a day at a time.

The ingest (broadsheet/ingest/jobs.py) marks what it stores with the day it ran: the worker
fetches after arXiv's evening announcement, so that day is the announcement's. Only new
submissions are marked (first version at most ARRIVAL_MAX_AGE_DAYS before): a replacement of
an old paper, or an old paper a backfill brings, is not news. A paper keeps its first day.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.conf import settings
from django.db.models import Q, QuerySet

from broadsheet.papers.filters import category_q
from broadsheet.papers.models import Paper

ARRIVAL_MAX_AGE_DAYS = 7


def mark_arrived(records: Iterable, day: dt.date) -> int:
    """Give the stored papers of these records (arXiv ones, first submitted lately) `day` as
    their arrival day unless they have one; returns how many were marked."""
    oldest = day - dt.timedelta(days=ARRIVAL_MAX_AGE_DAYS)
    ids = [
        r.arxiv_id
        for r in records
        if getattr(r, "validated", False)  # stored: the upsert checked and normalised it
        and r.arxiv_id
        and not getattr(r, "deleted", False)
        and r.published_at is not None
        and r.published_at.date() >= oldest
    ]
    marked = 0
    for start in range(0, len(ids), 900):  # under SQLite's 999 parameters
        chunk = ids[start : start + 900]
        marked += Paper.objects.filter(arxiv_id__in=chunk, arrived_on__isnull=True).update(
            arrived_on=day
        )
    return marked


def site_categories_q() -> Q:
    """Papers in any of the site's categories (an archive such as `cs` takes all of it)."""
    q = Q()
    for category in settings.INGEST_ARXIV_CATEGORIES:
        q |= category_q(category)
    return q


def arrived() -> QuerySet:
    """Visible papers that arrived in the site's categories (none without categories)."""
    if not settings.INGEST_ARXIV_CATEGORIES:
        return Paper.objects.none()
    return Paper.objects.visible().filter(site_categories_q(), arrived_on__isnull=False)


def arrived_on(day: dt.date) -> QuerySet:
    """The day's arrivals, the most recently submitted first (the order for visitors)."""
    return arrived().filter(arrived_on=day).order_by("-published_at", "-id")


def latest_day(today: dt.date) -> dt.date | None:
    """The newest day with arrivals, up to `today`."""
    days = arrived().filter(arrived_on__lte=today).order_by("-arrived_on")
    return days.values_list("arrived_on", flat=True).first()


def neighbours(day: dt.date) -> tuple[dt.date | None, dt.date | None]:
    """The days with arrivals just before and just after `day`."""
    days = arrived().values_list("arrived_on", flat=True)
    before = days.filter(arrived_on__lt=day).order_by("-arrived_on").first()
    after = days.filter(arrived_on__gt=day).order_by("arrived_on").first()
    return before, after
