"""RSS 2.0 and Atom feeds of a member's saved search: /feeds/saved/<token>.rss|atom.

The token in the URL is the only credential (feed readers cannot log in), so it is long and
random, and a wrong one is a 404 like an unknown page; deleting the saved search retires it.
"""

from __future__ import annotations

from django.conf import settings
from django.http import Http404, HttpRequest
from django.urls import re_path

from broadsheet.digests.models import SavedSearch
from broadsheet.front.feeds import ITEMS, AtomMixin, PaperFeed, cached, xml_text
from broadsheet.papers.loaders import with_output_relations
from broadsheet.papers.models import Paper


class SavedSearchFeed(PaperFeed):
    def get_object(self, request: HttpRequest, token: str) -> SavedSearch:
        saved = (
            SavedSearch.objects.select_related("subscription")
            .filter(feed_token=token, subscription__user__is_active=True)
            .first()
        )
        if saved is None:
            raise Http404("No such feed")
        return saved

    def title(self, saved: SavedSearch) -> str:
        return xml_text(f"{settings.SITE_NAME}: {saved.query}")

    def link(self, saved: SavedSearch) -> str:
        return "/search"

    def description(self, saved: SavedSearch) -> str:
        return xml_text(f"Papers matching your saved search “{saved.query}”, best match first.")

    def items(self, saved: SavedSearch) -> list[Paper]:
        from broadsheet.search import Filters, search

        filters = Filters(
            category=saved.category or None, authors=(saved.author,) if saved.author else ()
        )
        result = search(saved.query, filters, limit=ITEMS)
        # The papers as the engine loaded them, not read again.
        return with_output_relations([hit.paper for hit in result.hits])


class SavedSearchAtomFeed(AtomMixin, SavedSearchFeed):
    pass


TOKEN = r"(?P<token>[A-Za-z0-9_\-]{16,64})"

urlpatterns = [
    re_path(rf"^feeds/saved/{TOKEN}\.rss$", cached(SavedSearchFeed()), name="saved-search-rss"),
    re_path(
        rf"^feeds/saved/{TOKEN}\.atom$", cached(SavedSearchAtomFeed()), name="saved-search-atom"
    ),
]
