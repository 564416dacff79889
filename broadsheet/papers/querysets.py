"""Query logic shared by pages, API and digests: what is on the feed, and in which order."""

from __future__ import annotations

import datetime as dt

from django.apps import apps
from django.conf import settings
from django.db import models
from django.db.models import Count, F, FloatField, OuterRef, Q, Subquery, Value
from django.db.models.functions import Cast, Coalesce, Greatest, Power

# The windows a reader can choose for trending: key -> (days, label).
TRENDING_WINDOWS: dict[str, tuple[int, str]] = {
    "today": (1, "Today"),
    "3d": (3, "3 days"),
    "week": (7, "Week"),
    "month": (30, "Month"),
}

MAX_REF = 200  # characters: longer than any arXiv id or slug


class EpochSeconds(models.Func):
    """Seconds since 1970 of a datetime column, in SQL, on both database engines."""

    output_field = FloatField()

    def as_sqlite(self, compiler, connection, **extra):
        # Django stores datetimes in SQLite as UTC text, which julianday() reads.
        return self.as_sql(
            compiler, connection, template="((julianday(%(expressions)s) - 2440587.5) * 86400.0)"
        )

    def as_postgresql(self, compiler, connection, **extra):
        return self.as_sql(
            compiler, connection, template="EXTRACT(EPOCH FROM %(expressions)s)::float"
        )


def iso_week_range(year: int, week: int) -> tuple[dt.date, dt.date]:
    """Monday and Sunday of an ISO week; ValueError when the week does not exist (e.g. W53)."""
    monday = dt.date.fromisocalendar(year, week, 1)
    return monday, monday + dt.timedelta(days=6)


def month_range(year: int, month: int) -> tuple[dt.date, dt.date]:
    first = dt.date(year, month, 1)
    next_first = dt.date(year + month // 12, month % 12 + 1, 1)
    return first, next_first - dt.timedelta(days=1)


class PaperQuerySet(models.QuerySet):
    def visible(self):
        return self.filter(hidden=False)

    def by_ref(self, ref: str):
        """Match an arXiv id (without version) or a slug."""
        return self.filter(Q(arxiv_id=ref) | Q(slug=ref))

    def find(self, ref: str):
        """The paper `ref` names (an arXiv id, with or without its version, or a slug), or None.
        What no id or slug can be (empty, over MAX_REF characters, holding a NUL, which
        PostgreSQL refuses in a parameter) finds nothing without asking the database."""
        if not ref or len(ref) > MAX_REF or "\x00" in ref:
            return None
        paper = self.by_ref(ref).first()
        head, sep, version = ref.rpartition("v")
        if paper is None and sep and head and version.isascii() and version.isdigit():
            paper = self.filter(arxiv_id=head).first()
        return paper

    def for_cards(self):
        """Everything a paper card shows (authors, listing and submitter, comment count), in a
        fixed number of queries whatever the count."""
        Authorship = apps.get_model("papers", "Authorship")  # models.py imports this module

        return (
            self.select_related("listing__submitted_by")
            .prefetch_related(
                models.Prefetch(
                    "authorships",
                    queryset=Authorship.objects.select_related("author").order_by("position"),
                )
            )
            .annotate(comment_count=comment_count("pk"))
        )


class CommentQuerySet(models.QuerySet):
    def visible(self):
        """Comments a reader sees: not hidden, and not a reply under a hidden comment."""
        return self.filter(hidden=False).exclude(parent__hidden=True)

    def counted(self):
        """Comments that count on cards and in the API: visible and not deleted."""
        return self.visible().filter(deleted=False)


def comment_count(paper_ref: str = "pk"):
    """A subquery annotation: the number of counted comments on the outer row's paper."""
    Comment = apps.get_model("papers", "Comment")

    comments = (
        Comment.objects.counted()
        .filter(paper=OuterRef(paper_ref))
        .order_by()
        .values("paper")
        .annotate(n=Count("id"))
        .values("n")
    )
    return Coalesce(Subquery(comments), 0)


class ListingQuerySet(models.QuerySet):
    def visible(self):
        return self.filter(hidden=False, paper__hidden=False)

    def listed_on(self, day: dt.date):
        return self.visible().filter(day=day)

    def between(self, first: dt.date, last: dt.date):
        return self.visible().filter(day__gte=first, day__lte=last)

    def in_week(self, year: int, week: int):
        return self.between(*iso_week_range(year, week))

    def in_month(self, year: int, month: int):
        return self.between(*month_range(year, month))

    def with_votes(self):
        return self.annotate(votes=F("paper__upvote_count") + F("paper__source_upvotes"))

    def by_votes(self):
        """The feed order: most votes first, then the most recently listed."""
        return self.with_votes().order_by("-votes", "-submitted_at", "-id")

    def for_cards(self):
        """Everything a listing card shows, in a fixed number of queries whatever the count."""
        Authorship = apps.get_model("papers", "Authorship")

        return (
            self.select_related("paper", "submitted_by")
            .prefetch_related(
                models.Prefetch(
                    "paper__authorships",
                    queryset=Authorship.objects.select_related("author").order_by("position"),
                )
            )
            .annotate(comment_count=comment_count("paper_id"))
        )

    def trending(self, now: dt.datetime, window: str | None = None):
        """Listings ranked by time-decayed votes (see docs/architecture.md, "Trending").

        score = votes / (hours since listing + 2) ** gravity

        Candidates are listings from the `window` (a key of TRENDING_WINDOWS; by default the
        TRENDING_DAYS days) up to the newest listing, so a quiet site still has a trending
        page; the decay itself is measured from `now`. An unknown window is a ValueError.
        """
        if window is None:
            days = settings.TRENDING_DAYS
        elif window in TRENDING_WINDOWS:
            days = TRENDING_WINDOWS[window][0]
        else:
            raise ValueError(f"unknown trending window {window!r}")
        visible = self.visible()
        newest = visible.aggregate(newest=models.Max("submitted_at"))["newest"]
        if newest is None:
            return self.none()
        since = min(newest, now) - dt.timedelta(days=days)
        age_hours = Greatest(
            (Value(now.timestamp()) - EpochSeconds("submitted_at")) / Value(3600.0), Value(0.0)
        )
        score = Cast(F("paper__upvote_count") + F("paper__source_upvotes"), FloatField()) / Power(
            age_hours + Value(2.0), Value(float(settings.TRENDING_GRAVITY))
        )
        return (
            visible.filter(submitted_at__gte=since, submitted_at__lte=now)
            .with_votes()
            .annotate(trending_score=score)
            .order_by("-trending_score", "-submitted_at", "-id")
        )


class CollectionQuerySet(models.QuerySet):
    def readable_by(self, user):
        """Public collections, and the member's own private ones."""
        if user is not None and user.is_authenticated:
            return self.filter(Q(public=True) | Q(owner=user))
        return self.filter(public=True)

    def owned_by(self, user):
        return self.filter(owner=user)

    def with_counts(self):
        """Each collection with how many visible papers it holds."""
        return self.annotate(
            paper_count=Count("items", filter=Q(items__paper__hidden=False), distinct=True)
        )
