"""RSS 2.0 and Atom feeds: the latest day, trending, an arXiv category, a search query.

    /feeds/daily.rss        /feeds/daily.atom      (both take the feed pages' filter:
    /feeds/trending.rss     /feeds/trending.atom    ?cat=cs.CL&code=1&include=...&exclude=...)
    /feeds/category/cs.CL.rss (or an archive: /feeds/category/cs.atom)
    /feeds/search.rss?q=...

An item's description is HTML in both formats (RSS <description>, Atom <summary type="html">),
so the abstract is HTML-escaped before the XML writer escapes it again: a reader shows an
ingested `<img src=x>` as those characters, and `a<b` intact.

Item ids are the paper's URL, so an item keeps its id across feeds and refreshes. Responses
carry Cache-Control max-age, Last-Modified (the newest item) and an ETag of the body, so feed
readers polling every few minutes mostly get 304s.
A member's saved search (with a private token in the URL) is in saved_search_feeds.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps

from django.conf import settings
from django.contrib.syndication.views import Feed
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.middleware.http import ConditionalGetMiddleware
from django.urls import path, re_path
from django.utils import timezone
from django.utils.cache import patch_cache_control
from django.utils.feedgenerator import Atom1Feed, Rss201rev2Feed
from django.utils.html import escape

from broadsheet.lib import limits
from broadsheet.papers.filters import FilterError, PaperFilter, category_q
from broadsheet.papers.models import Listing, Paper
from broadsheet.search.papers_search import MAX_QUERY, search_papers

ITEMS = 50
# Characters XML 1.0 cannot hold (Django refuses to write them: a 500). Sources do send them.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def xml_text(text: str) -> str:
    return _NOT_XML.sub("", text)


DEFAULT_MAX_AGE = 300  # seconds, unless settings.FEED_MAX_AGE says otherwise


class PaperFeed(Feed):
    """Items are listings or papers; everything about an item is read from its paper."""

    feed_type = Rss201rev2Feed

    @staticmethod
    def _paper(item: Listing | Paper) -> Paper:
        return item.paper if isinstance(item, Listing) else item

    def item_title(self, item) -> str:
        return xml_text(self._paper(item).title)

    def item_description(self, item) -> str:
        # HTML the reader renders: the abstract as text in it (see the module docstring).
        return escape(xml_text(self._paper(item).abstract))

    def item_link(self, item) -> str:
        return self._paper(item).get_absolute_url()

    def item_pubdate(self, item) -> dt.datetime:
        if isinstance(item, Listing):
            return item.submitted_at
        return item.published_at or item.created

    def item_author_name(self, item) -> str | None:
        names = [a.author.name for a in self._paper(item).authorships.all()]
        return xml_text(", ".join(names)) or None

    def item_categories(self, item) -> list[str]:
        categories = self._paper(item).categories
        if not isinstance(categories, list):
            return []
        return [xml_text(c) for c in categories if isinstance(c, str)]

    def item_enclosures(self, item) -> list:
        return []

    def _listing_items(self, listings) -> list[Listing]:
        return list(listings.for_cards()[:ITEMS])


class AtomMixin:
    feed_type = Atom1Feed

    def subtitle(self, obj) -> str:
        return self.description(obj)


@dataclass(frozen=True)
class Filtered:
    """A feed page's feed: its filter (the same URL parameters as the page's), and the day."""

    filter: PaperFilter
    day: dt.date | None = None

    def link(self, path: str) -> str:
        query = self.filter.to_string()
        return f"{path}?{query}" if query else path

    def titled(self, title: str) -> str:
        return xml_text(f"{title} ({self.filter.describe()})") if self.filter else title


class DailyFeed(PaperFeed):
    def get_object(self, request: HttpRequest, *args, **kwargs) -> Filtered:
        day = Listing.objects.visible().order_by("-day").values_list("day", flat=True).first()
        return Filtered(PaperFilter.from_query(request.GET), day)

    def title(self, obj: Filtered) -> str:
        if obj.day is None:
            return settings.SITE_NAME
        return obj.titled(f"{settings.SITE_NAME}: papers of {obj.day:%-d %B %Y}")

    def link(self, obj: Filtered) -> str:
        return obj.link(f"/papers/date/{obj.day}" if obj.day else "/")

    def description(self, obj: Filtered) -> str:
        return "The latest day's papers, most upvoted first."

    def items(self, obj: Filtered) -> list[Listing]:
        if obj.day is None:
            return []
        listings = Listing.objects.listed_on(obj.day).by_votes()
        return self._listing_items(obj.filter.apply(listings, field="paper__"))


class TrendingFeed(PaperFeed):
    def get_object(self, request: HttpRequest, *args, **kwargs) -> Filtered:
        return Filtered(PaperFilter.from_query(request.GET))

    def title(self, obj: Filtered) -> str:
        return obj.titled(f"{settings.SITE_NAME}: trending papers")

    def link(self, obj: Filtered) -> str:
        return obj.link("/papers/trending")

    def description(self, obj: Filtered) -> str:
        return "Papers ranked by upvotes, decayed by the hours since each was listed."

    def items(self, obj: Filtered) -> list[Listing]:
        listings = Listing.objects.trending(timezone.now())
        return self._listing_items(obj.filter.apply(listings, field="paper__"))


class CategoryFeed(PaperFeed):
    def get_object(self, request: HttpRequest, category: str) -> str:
        return category

    def title(self, category: str) -> str:
        return f"{settings.SITE_NAME}: {category}"

    def link(self, category: str) -> str:
        return "/"

    def description(self, category: str) -> str:
        return f"Papers listed in {category}, newest first."

    def items(self, category: str) -> list[Listing]:
        listings = Listing.objects.visible().filter(category_q(category, field="paper__"))
        return self._listing_items(listings.order_by("-submitted_at", "-id"))


class SearchFeed(PaperFeed):
    def get_object(self, request: HttpRequest) -> str:
        return request.GET.get("q", "")[:MAX_QUERY]

    def title(self, query: str) -> str:
        return xml_text(f"{settings.SITE_NAME}: search for {query}")

    def link(self, query: str) -> str:
        return "/"

    def description(self, query: str) -> str:
        return xml_text(f"Papers matching “{query}”, best match first.")

    def items(self, query: str) -> list[Paper]:
        from broadsheet.papers.loaders import with_output_relations

        # The papers as the engine loaded them, not read again.
        return with_output_relations([hit.paper for hit in search_papers(query, limit=ITEMS).hits])


class DailyAtomFeed(AtomMixin, DailyFeed):
    pass


class TrendingAtomFeed(AtomMixin, TrendingFeed):
    pass


class CategoryAtomFeed(AtomMixin, CategoryFeed):
    pass


class SearchAtomFeed(AtomMixin, SearchFeed):
    pass


def cached(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Cache-Control max-age, and 304s for If-None-Match / If-Modified-Since.

    The ETag hashes the rendered body: a vote can reorder a feed without changing any date,
    so dates alone cannot say whether it changed. Rendering a 50-item feed is cheap; the
    bandwidth and the readers' parsing are what the 304 saves.
    """

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        response = ConditionalGetMiddleware(lambda r: view(r, *args, **kwargs))(request)
        if response.status_code in (200, 304):
            max_age = getattr(settings, "FEED_MAX_AGE", DEFAULT_MAX_AGE)
            patch_cache_control(response, public=True, max_age=max_age)
        return response

    return wrapper


def _filtered_view(feed: Feed) -> Callable[..., HttpResponse]:
    """A feed page's feed: a bad filter parameter is a 400 naming it."""

    def view(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        try:
            PaperFilter.from_query(request.GET)
        except FilterError as e:
            return HttpResponseBadRequest(str(e), content_type="text/plain")
        return feed(request, *args, **kwargs)

    return view


def _search_view(feed: SearchFeed) -> Callable[..., HttpResponse]:
    def view(request: HttpRequest) -> HttpResponse:
        from broadsheet.front.search_views import SEARCHING_TOO_FAST, search_limit

        if not request.GET.get("q", "").strip():
            return HttpResponseBadRequest("Add a search query: ?q=...", content_type="text/plain")
        try:
            limits.spend(search_limit(), limits.client_key(request), SEARCHING_TOO_FAST)
        except limits.RateLimited as e:
            return limits.too_many_text(str(e), e.retry_after)
        return feed(request)

    return view


CATEGORY = r"(?P<category>[A-Za-z][A-Za-z0-9.\-]{0,31})"

urlpatterns = [
    path("daily.rss", cached(_filtered_view(DailyFeed())), name="feed-daily-rss"),
    path("daily.atom", cached(_filtered_view(DailyAtomFeed())), name="feed-daily-atom"),
    path("trending.rss", cached(_filtered_view(TrendingFeed())), name="feed-trending-rss"),
    path("trending.atom", cached(_filtered_view(TrendingAtomFeed())), name="feed-trending-atom"),
    re_path(rf"^category/{CATEGORY}\.rss$", cached(CategoryFeed()), name="feed-category-rss"),
    re_path(rf"^category/{CATEGORY}\.atom$", cached(CategoryAtomFeed()), name="feed-category-atom"),
    path("search.rss", cached(_search_view(SearchFeed())), name="feed-search-rss"),
    path("search.atom", cached(_search_view(SearchAtomFeed())), name="feed-search-atom"),
]
