"""What goes in a subscriber's digest: trending listings, saved-search hits, personal picks.

A Composer serves one sending run. Work shared between subscribers is done once: the trending
list once, each distinct saved search (query + filters) once however many subscribers saved
it; each subscriber then gets the part that is new to them (after their last digest).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db.models import Max

from broadsheet.digests.models import DigestRun, SavedSearch, Subscription
from broadsheet.digests.periods import Period
from broadsheet.papers.filters import FilterError, PaperFilter
from broadsheet.papers.models import Listing, Paper

log = logging.getLogger("broadsheet.digests")

TRENDING_POOL = 200  # trending listings looked at, before each subscriber's "new" filter
SEARCH_DEPTH = 50  # hits fetched per distinct saved search
SEARCH_ITEMS = 10  # shown per saved search
PICKS = 5
# A saved search looks at papers published this long before the subscriber's last digest:
# arXiv announces papers a day or more after their submission date.
PUBLISHED_GRACE = dt.timedelta(days=7)

SearchKey = tuple[str, str, str]


@dataclass
class SearchSection:
    saved: SavedSearch
    papers: list[Paper]


@dataclass
class Digest:
    subscription: Subscription
    period: Period
    since: dt.datetime
    trending: list[Paper] = field(default_factory=list)
    searches: list[SearchSection] = field(default_factory=list)
    picks: list = field(default_factory=list)  # broadsheet.search.recommend.Pick

    @property
    def is_empty(self) -> bool:
        return not (self.trending or any(s.papers for s in self.searches) or self.picks)

    @property
    def count(self) -> int:
        return len(self.trending) + sum(len(s.papers) for s in self.searches) + len(self.picks)

    @property
    def paper_ids(self) -> list[int]:
        """Every paper the digest shows."""
        ids = [p.pk for p in self.trending] + [p.pk for s in self.searches for p in s.papers]
        return ids + [pick.paper.pk for pick in self.picks]


def subscription_filter(subscription: Subscription) -> PaperFilter:
    """The subscriber's filter; one stored under older rules is ignored (logged)."""
    try:
        return PaperFilter.from_string(subscription.paper_filter)
    except FilterError as e:
        log.warning("subscription %s: its filter is ignored (%s)", subscription.pk, e)
        return PaperFilter()


def let_through(wanted: PaperFilter, papers: list) -> list:
    """`papers` (or items with a `.paper`), in order, less those the filter leaves out."""
    if not wanted or not papers:
        return papers
    ids = [getattr(p, "paper", p).pk for p in papers]
    kept = set(wanted.apply(Paper.objects.filter(pk__in=ids)).values_list("pk", flat=True))
    return [p for p in papers if getattr(p, "paper", p).pk in kept]


def key_of(saved: SavedSearch) -> SearchKey:
    return (saved.query, saved.category, saved.author)


def last_sent(subscription_ids: Iterable[int] | None = None) -> dict[int, dt.datetime]:
    """When each subscription last got a digest, in one query."""
    runs = DigestRun.objects.filter(status=DigestRun.Status.SENT)
    if subscription_ids is not None:
        runs = runs.filter(subscription_id__in=list(subscription_ids))
    rows = (
        runs.values("subscription_id")
        .annotate(last=Max("sent_at"))
        .values_list("subscription_id", "last")
    )
    return dict(rows)


class Composer:
    def __init__(self, now: dt.datetime) -> None:
        self.now = now
        self._trending: list[Listing] | None = None
        self._searches: dict[tuple[SearchKey, dt.date], list[Paper]] = {}
        self._searchable = False
        self.timings: dict[str, float] = {}

    def since(self, subscription: Subscription, period: Period, last: dt.datetime | None):
        """Papers after this moment are new to the subscriber: their last digest, or one
        period before this one when they never had one."""
        return last or (period.start() - period.length)

    # Shared work ---------------------------------------------------------------------------

    def trending_pool(self) -> list[Listing]:
        if self._trending is None:
            self._trending = list(
                Listing.objects.trending(self.now).select_related("paper")[:TRENDING_POOL]
            )
        return self._trending

    def prepare_searches(self, wanted: Iterable[tuple[SavedSearch, dt.datetime]]) -> None:
        """Run each distinct saved search once, over the widest window any subscriber needs."""
        widest: dict[SearchKey, dt.date] = {}
        for saved, since in wanted:
            day = (since - PUBLISHED_GRACE).date()
            key = key_of(saved)
            widest[key] = min(day, widest.get(key, day))
        for key, day in widest.items():
            if not any(k == key and d <= day for k, d in self._searches):
                self._searches[(key, day)] = self._run_search(key, day)

    def _run_search(self, key: SearchKey, after: dt.date) -> list[Paper]:
        from broadsheet.search import Filters, search
        from broadsheet.search.indexing import wait_until_searchable

        if not self._searchable:  # a host just started may still be building its indexes
            wait_until_searchable()
            self._searchable = True

        query, category, author = key
        filters = Filters(
            after=after, category=category or None, authors=(author,) if author else ()
        )
        try:
            result = search(query, filters, limit=SEARCH_DEPTH)
        except Exception:  # one broken query must not stop everyone's digest
            log.exception("saved search %r failed; left out of this run's digests", query)
            return []
        return [hit.paper for hit in result.hits]

    def _search_hits(self, saved: SavedSearch, since: dt.datetime) -> list[Paper]:
        key, day = key_of(saved), (since - PUBLISHED_GRACE).date()
        for (k, d), papers in self._searches.items():
            if k == key and d <= day:
                return papers
        papers = self._run_search(key, day)
        self._searches[(key, day)] = papers
        return papers

    def new_hits(
        self, saved: SavedSearch, since: dt.datetime, limit: int = SEARCH_ITEMS
    ) -> list[Paper]:
        """The saved search's hits that came in after `since` (digests and channels)."""
        return [p for p in self._search_hits(saved, since) if p.created > since][:limit]

    # One subscriber ------------------------------------------------------------------------

    def compose(
        self,
        subscription: Subscription,
        period: Period,
        last: dt.datetime | None,
        saved_searches: list[SavedSearch] | None = None,
    ) -> Digest:
        since = self.since(subscription, period, last)
        digest = Digest(subscription, period, since)
        wanted = subscription_filter(subscription)
        seen: set[int] = set()
        if subscription.top_n:
            listings = [lst for lst in self.trending_pool() if lst.submitted_at > since]
            listings = let_through(wanted, listings)
            digest.trending = [lst.paper for lst in listings[: subscription.top_n]]
            seen.update(p.pk for p in digest.trending)
        if subscription.include_saved_searches:
            if saved_searches is None:
                saved_searches = list(subscription.saved_searches.all())
            for saved in saved_searches:
                papers = let_through(wanted, self.new_hits(saved, since, limit=SEARCH_DEPTH))
                papers = papers[:SEARCH_ITEMS]
                digest.searches.append(SearchSection(saved, papers))
                seen.update(p.pk for p in papers)
        if subscription.include_picks and subscription.user_id is not None:
            from broadsheet.search.recommend import picks_for

            try:
                picks = picks_for(
                    subscription.user,
                    limit=PICKS * 4 if wanted else PICKS,
                    exclude_ids=seen,
                    since=since,
                )
                digest.picks = let_through(wanted, picks)[:PICKS]
            except Exception:
                log.exception("picks for %s failed; digest sent without them", subscription.pk)
        return digest


def preview(subscription: Subscription, period: Period, now: dt.datetime) -> Digest:
    """The digest this subscriber would get for `period` now (for /digests/preview)."""
    last = last_sent([subscription.pk]).get(subscription.pk)
    return Composer(now).compose(subscription, period, last)


def weekday_ok(subscription: Subscription, period: Period) -> bool:
    return str(period.first_day.weekday()) in subscription.weekdays
