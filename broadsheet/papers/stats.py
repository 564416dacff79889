"""Site statistics: a handful of aggregate queries, each one GROUP BY over an index.

The window is the DAYS days up to the newest listing or vote (as trending does), so a quiet
site, or the sample data, still has something to show.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, Max
from django.db.models.functions import TruncDate
from django.utils import timezone

from broadsheet.papers.models import Listing, Upvote

DAYS = 30
TOP = 10


@dataclass
class Stats:
    first: dt.date
    last: dt.date
    days: list[dt.date]
    listings: list[int]  # per day, aligned with `days`
    votes: list[int]
    top_categories: list[tuple[str, int]]
    top_submitters: list[tuple[str, int]]

    @property
    def listings_total(self) -> int:
        return sum(self.listings)

    @property
    def votes_total(self) -> int:
        return sum(self.votes)


def _per_day(rows, days: list[dt.date]) -> list[int]:
    counts = dict(rows)
    return [counts.get(day, 0) for day in days]


def site_stats(today: dt.date | None = None, days: int = DAYS) -> Stats:
    listings = Listing.objects.visible()
    newest_listing = listings.aggregate(d=Max("day"))["d"]
    newest_vote = Upvote.objects.aggregate(t=Max("created"))["t"]
    today = today or timezone.localdate()
    candidates = [d for d in (newest_listing, newest_vote and timezone.localdate(newest_vote)) if d]
    last = min(max(candidates), today) if candidates else today
    first = last - dt.timedelta(days=days - 1)
    window = [first + dt.timedelta(days=i) for i in range(days)]

    in_window = listings.filter(day__gte=first, day__lte=last)
    per_day_listings = in_window.order_by().values_list("day").annotate(n=Count("id"))
    # Votes are dated by when they were cast, in the site's time zone.
    start = timezone.make_aware(dt.datetime.combine(first, dt.time.min))
    end = timezone.make_aware(dt.datetime.combine(last + dt.timedelta(days=1), dt.time.min))
    per_day_votes = (
        Upvote.objects.filter(created__gte=start, created__lt=end, paper__hidden=False)
        .annotate(day=TruncDate("created", tzinfo=timezone.get_current_timezone()))
        .order_by()
        .values_list("day")
        .annotate(n=Count("id"))
    )
    categories = (
        in_window.exclude(paper__primary_category="")
        .order_by()
        .values_list("paper__primary_category")
        .annotate(n=Count("id"))
        .order_by("-n", "paper__primary_category")[:TOP]
    )
    submitters = (
        in_window.filter(submitted_by__isnull=False, submitted_by__is_active=True)
        .order_by()
        .values_list("submitted_by__username")
        .annotate(n=Count("id"))
        .order_by("-n", "submitted_by__username")[:TOP]
    )
    return Stats(
        first=first,
        last=last,
        days=window,
        listings=_per_day(per_day_listings, window),
        votes=_per_day(per_day_votes, window),
        top_categories=list(categories),
        top_submitters=list(submitters),
    )
