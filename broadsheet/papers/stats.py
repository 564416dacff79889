"""Site statistics: a handful of aggregate queries, each one GROUP BY over an index.

The window is the DAYS days up to the newest listing or vote (as trending does), so a quiet
site, or the sample data, still has something to show.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, Max, Q
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
    # Votes are dated by when they were cast, in the site's time zone. One filtered COUNT per
    # day over the index on `created`, with the day boundaries computed here (so daylight
    # saving is right): no per-row date conversion, which SQLite would run in Python. These are
    # all votes members cast (activity), without a join to papers to leave out hidden ones.
    bounds = [
        timezone.make_aware(dt.datetime.combine(first + dt.timedelta(days=i), dt.time.min))
        for i in range(days + 1)
    ]
    vote_counts = Upvote.objects.filter(created__gte=bounds[0], created__lt=bounds[-1]).aggregate(
        **{
            f"d{i}": Count("id", filter=Q(created__gte=bounds[i], created__lt=bounds[i + 1]))
            for i in range(days)
        }
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
        votes=[vote_counts[f"d{i}"] for i in range(days)],
        top_categories=list(categories),
        top_submitters=list(submitters),
    )
