"""Anonymous readers' paper cards, rendered again only when what they show changed.

A feed page is mostly its cards (Django's templates take about a millisecond a card), and
the page cache renders a page again whenever anything on it changed: after a vote,
trending's thirty cards for one new count. So each process keeps the cards it rendered for a
cacheable page (front/page_cache.py sets `request.content_version` for those), with the
content version the page was rendered for, and takes a card again while nothing in its
scopes changed since: its paper (the paper, its authors, listing, votes and comments:
papers/content_scopes.py) or everything. The key holds the page's full path (a card links
back to it) and the card's rank. Members' pages carry their own vote state and never come
here.

Kept no longer than a page (BROADSHEET_PAGE_CACHE_SECONDS), so nothing outlives what a page
re-rendered for its age would show, and at most MAX_CARDS per process."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest

from broadsheet.front.page_cache import version
from broadsheet.papers import content_scopes

MAX_CARDS = 5000  # about 3 KB each

_lock = threading.Lock()
_cards: OrderedDict[tuple, tuple[int, float, str]] = OrderedDict()  # key -> (version, at, html)


def card(request: HttpRequest, listing, rank: int, render: Callable[[], str]) -> str:
    """The card of `listing` at `rank` on this page: kept, or `render()`ed (and kept)."""
    since = getattr(request, "content_version", None)
    if since is None:
        return render()
    key = (request.get_full_path(), listing.pk, rank)
    # Not the day's scope: every vote of the day bumps it, and a card shows only its paper's.
    scopes = [content_scopes.paper(listing.paper_id)]
    with _lock:
        kept = _cards.get(key)
    if (
        kept is not None
        and time.time() - kept[1] < settings.PAGE_CACHE_SECONDS
        and version.unchanged(scopes, kept[0])
    ):
        return kept[2]
    html = render()
    with _lock:
        _cards[key] = (since, time.time(), html)
        _cards.move_to_end(key)
        while len(_cards) > MAX_CARDS:
            _cards.popitem(last=False)
    return html


def forget() -> None:
    with _lock:
        _cards.clear()
