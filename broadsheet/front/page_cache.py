"""Rendered public pages for anonymous readers, served from a cache shared by the processes.

The day, week, month, trending and paper pages are the same for every reader who is not
logged in, and most readers are not. Each view says what its page shows (`shows`: a paper, a
day's listings, trending; papers/content_scopes.py); the page is kept in the "pages" cache
(files under the data directory by default; any Django cache backend works) with the content
version it was rendered at, and rendered again only when one of its scopes has changed since:
a vote re-renders that paper's page, its day, week and month and trending, and no other. The
versions are kept by database triggers (ContentVersion, papers migration 0010) and grow in
commit order, so a process reads only what changed since its last read, at most once every
BROADSHEET_PAGE_CACHE_CHECK_SECONDS (0.5 s): a change is on every page within that plus its
renderings, which the page renderer (page_renderer.py) does outside the serving processes.
Things that change without a row changing (relative times, related papers as the search index
grows) are at most BROADSHEET_PAGE_CACHE_SECONDS old.

A private site (BROADSHEET_PRIVATE) has no anonymous readers: the cache is off there.
Members (a session cookie) and readers with a pending message get the page rendered for
them, unchanged. Cached answers carry an ETag and Last-Modified, and answer conditional
requests with 304, so a CDN in front can hold a page and revalidate it cheaply.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable

from django.conf import settings
from django.core.cache import caches
from django.http import HttpRequest, HttpResponse
from django.urls import Resolver404, resolve
from django.utils.cache import get_conditional_response, patch_vary_headers
from django.utils.http import http_date

from broadsheet.front import page_queue
from broadsheet.lib.clients import PAGE_RENDERER
from broadsheet.papers import content_scopes as scopes_
from broadsheet.papers.models import ContentVersion

log = logging.getLogger("broadsheet.pages")

CACHED_PAGES = {"home", "day", "week", "month", "trending", "paper"}
# Cookies that make a page personal: a member's session, a message waiting to be shown.
PERSONAL_COOKIES = ("sessionid", "messages")
MAX_KEY_PATH = 500  # longer URLs are rare, and not worth a cache entry each
CACHE_CONTROL = "public, max-age=0, must-revalidate"
# Says how the page was served: "hit" (from the cache), "stale" (the previous rendering, while
# the page renderer or another request renders the changed page) or "miss" (rendered for this
# request).
CACHE_HEADER = "X-Page-Cache"
KEPT_HEADERS = ("Content-Type", "Content-Language", "X-Robots-Tag", "Link")
# How long a rendering may hold its page's lock: after that (a crashed worker or renderer)
# another request renders it or asks for it again.
RENDER_LOCK_SECONDS = 30


class _Versions:
    """What this process knows of ContentVersion: every scope that changed within a page's
    lifetime, read again when the last read is older than `every` seconds.

    Values grow in commit order, so each read asks only for the rows above the highest value
    seen (`seen`): one indexed query per check however many pages there are. The first read
    takes the scopes changed within PAGE_CACHE_SECONDS; a page rendered before the oldest
    value this process knows about (`since`) cannot be checked and is rendered again."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._read_at = float("-inf")
        self.seen = 0
        self.since = 0
        self.scopes: dict[str, int] = {}

    def refresh(self, every: float) -> int:
        now = time.monotonic()
        if now - self._read_at >= every:
            with self._lock:
                if now - self._read_at >= every:
                    self._read()
                    self._read_at = time.monotonic()
        return self.seen

    def _read(self) -> None:
        # Built aside and then swapped in: other threads check pages meanwhile.
        lifetime = settings.PAGE_CACHE_SECONDS * 1_000_000
        seen, since, scopes = self.seen, self.since, dict(self.scopes)
        after = seen
        if not seen:  # the first read: everything within a page's lifetime
            seen = ContentVersion.current()
            since = after = seen - lifetime
            scopes = {}
        rows = ContentVersion.objects.filter(value__gt=after)
        for scope, value in rows.values_list("scope", "value"):
            scopes[scope] = value
            seen = max(seen, value)
        if seen - lifetime > since + lifetime:  # now and then, forget what no page can need
            since = seen - lifetime
            scopes = {s: v for s, v in scopes.items() if v > since}
        self.scopes, self.since, self.seen = scopes, since, seen

    def unchanged(self, scopes: list[str], since: int) -> bool:
        """Nothing in these scopes changed after value `since`, as far as the last read knows."""
        if since < self.since:
            return False
        get = self.scopes.get
        return get(scopes_.EVERYTHING, 0) <= since and all(get(s, 0) <= since for s in scopes)

    def forget(self) -> None:
        self._read_at = float("-inf")
        self.seen = 0


version = _Versions()


def shows(request: HttpRequest, *scopes: str) -> None:
    """Views say what their page shows (papers/content_scopes.py), so that its cached copy
    is rendered again only when one of these changes. A page that says nothing is rendered
    again after every change."""
    request.content_scopes = list(scopes)


def cacheable_request(request: HttpRequest) -> bool:
    if request.method not in ("GET", "HEAD") or not settings.PAGE_CACHE_SECONDS:
        return False
    if getattr(settings, "PRIVATE", False):  # no page of a private site is anonymous
        return False
    cookies = request.COOKIES
    if any(name in cookies for name in (settings.SESSION_COOKIE_NAME, *PERSONAL_COOKIES)):
        return False
    if "HTTP_AUTHORIZATION" in request.META or len(request.get_full_path()) > MAX_KEY_PATH:
        return False
    try:
        return resolve(request.path_info).url_name in CACHED_PAGES
    except Resolver404:
        return False


def cacheable_response(response: HttpResponse) -> bool:
    return (
        response.status_code == 200
        and not response.streaming
        and not response.cookies
        and "private" not in response.get("Cache-Control", "")
        and "no-store" not in response.get("Cache-Control", "")
    )


def _key(request: HttpRequest) -> str:
    where = f"{request.scheme}://{request.get_host()}{request.get_full_path()}"
    return f"page:{hashlib.sha256(where.encode()).hexdigest()}"


def _answer(request: HttpRequest, entry: dict, how: str) -> HttpResponse:
    conditional = get_conditional_response(
        request, etag=entry["etag"], last_modified=entry["last_modified"]
    )
    if conditional is not None:
        response = conditional
    else:
        response = HttpResponse(entry["body"])
        response["Content-Length"] = str(len(entry["body"]))
        for name, value in entry["headers"]:
            response[name] = value
    response["ETag"] = entry["etag"]
    response["Last-Modified"] = http_date(entry["last_modified"])
    response["Cache-Control"] = CACHE_CONTROL
    patch_vary_headers(response, ("Cookie",))
    response[CACHE_HEADER] = how
    return response


def _fresh(entry: dict | None) -> bool:
    return (
        entry is not None
        and version.unchanged(entry["scopes"], entry["version"])
        and time.time() - entry["last_modified"] < settings.PAGE_CACHE_SECONDS
    )


def _asked(request: HttpRequest, key: str) -> bool:
    """Ask the page renderer for this page; False (logged) if the ask cannot be written (a
    full disk): the request then renders the page itself."""
    try:
        page_queue.ask(request, key)
        return True
    except OSError as e:
        log.warning("page cache: cannot ask the page renderer for %s (%s)", request.path, e)
        return False


class AnonymousPageCacheMiddleware:
    """Placed before the session, CSRF and auth middleware: a hit skips them and the view.

    One entry per URL, holding the version it was rendered for. When the version moves on,
    one request (per process, and mostly per site: the lock is a cache entry) asks the page
    renderer (front/page_renderer.py) to render the page again, or renders it itself when no
    renderer runs, and meanwhile every request gets the previous rendering: readers never
    queue behind a rendering of a page that has one already."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not cacheable_request(request):
            return self.get_response(request)
        cache = caches["pages"]
        key = _key(request)
        if PAGE_RENDERER in request.META:  # the page renderer's: render, store
            return self._render(request, cache, key, version.refresh(0), had_entry=True)
        current = version.refresh(settings.PAGE_CACHE_CHECK_SECONDS)
        entry = cache.get(key)
        if _fresh(entry):
            return _answer(request, entry, "hit")
        if entry is not None:
            if not cache.add(f"{key}:{current}", True, RENDER_LOCK_SECONDS):
                return _answer(request, entry, "stale")  # another request is rendering it
            if page_queue.running() and _asked(request, key):
                return _answer(request, entry, "stale")
        return self._render(request, cache, key, current, had_entry=entry is not None)

    def _render(
        self, request: HttpRequest, cache, key: str, current: int, had_entry: bool
    ) -> HttpResponse:
        request.content_version = current  # what its kept cards are checked against (card_cache)
        response = self.get_response(request)
        if not cacheable_response(response):
            if had_entry:
                # The page is gone (a hidden paper) or failed: no request may be given its
                # previous rendering any more.
                cache.delete_many([key, f"{key}:{current}"])
            return response
        body = response.content
        entry = {
            # Rendered after reading `current`: it shows every change up to that value.
            "version": current,
            "scopes": getattr(request, "content_scopes", [scopes_.EVERY_CHANGE]),
            "body": body,
            "headers": [(h, response[h]) for h in KEPT_HEADERS if h in response],
            "etag": f'"{hashlib.sha256(body).hexdigest()[:32]}"',
            "last_modified": int(time.time()),
        }
        cache.set(key, entry, settings.PAGE_CACHE_SECONDS)
        return _answer(request, entry, "miss")
