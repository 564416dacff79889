"""A private site (BROADSHEET_PRIVATE=true): every page, feed and API answer needs a member.

- Pages: anonymous visitors are sent to the login page (and back after it).
- The API (/api/...): a member's session, or a personal API token as `Authorization: Bearer`;
  anything else is a 401 in the API's JSON error format.
- Feeds (/feeds/...): a feed reader cannot log in, so a feed also takes a member's API token,
  as `?token=<token>` in its URL (or the Bearer header). Only read-scope tokens are taken in a
  URL: URLs end up in logs and reader settings, and a write token there could act as the
  member. A saved search's own feed (/feeds/saved/<secret>) is its own credential.
- Open to all: logging in, password reset, the invitation sign-up, single sign-on, the
  emailed digest links that carry their own secret (unsubscribe, manage), static files,
  /healthz, /readyz, /robots.txt and the favicon.
Every answer of a private site says `Cache-Control: private` and `X-Robots-Tag: noindex`, so
no shared cache keeps a member's page and no search engine lists one; robots.txt disallows
all. The anonymous page cache (front/page_cache.py) is off on a private site.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import Resolver404, resolve
from django.utils.cache import patch_cache_control

from broadsheet.api.callers import ApiError, identify, token_caller

OPEN_VIEWS = {
    "login",
    "logout",
    "password_reset",
    "password_reset_done",
    "password_reset_confirm",
    "password_reset_complete",
    "invitation",
    "oidc_authentication_init",
    "oidc_authentication_callback",
    "healthz",
    "readyz",
    "robots",
    "favicon",
    "digests:unsubscribe",
    "digests:manage",
    "saved-search-rss",
    "saved-search-atom",
}
API_PREFIX = "/api/"
API_PAGES = ("/api/docs",)  # HTML under /api/: a login redirect like other pages
FEED_PREFIX = "/feeds/"


def is_private() -> bool:
    return bool(getattr(settings, "PRIVATE", False))


def _open(request: HttpRequest) -> bool:
    if request.path_info.startswith("/" + settings.STATIC_URL.lstrip("/")):
        return True
    try:
        match = resolve(request.path_info)
    except Resolver404:
        return False  # an unknown page's 404 would tell which URLs exist
    return match.view_name in OPEN_VIEWS


def _api_error(error: ApiError) -> HttpResponse:
    response = JsonResponse({"error": error.message}, status=error.status)
    for name, value in error.headers.items():
        response[name] = value
    return response


def _api(request: HttpRequest) -> HttpResponse | None:
    """None when the API request may go on; else the refusal."""
    if "Authorization" not in request.headers:
        return _api_error(
            ApiError(
                "This site is private: send a member's API token as "
                "`Authorization: Bearer <token>`.",
                status=401,
                headers={"WWW-Authenticate": 'Bearer realm="api"'},
            )
        )
    try:
        caller = identify(request)
    except ApiError as e:
        return _api_error(e)
    if caller.user is None:  # not reached: a header is a token or refused
        return _api_error(ApiError("A member's API token is needed.", status=401))
    request.broadsheet_caller = caller
    return None


def _feed(request: HttpRequest) -> HttpResponse | None:
    """None when the feed request carries a member's token (and then names the member)."""
    text = request.GET.get("token", "")
    in_url = bool(text)
    if not in_url:
        scheme, _, text = request.headers.get("Authorization", "").partition(" ")
        text = text.strip() if scheme.lower() == "bearer" else ""
    if not text:
        return HttpResponse(
            "This site is private: add ?token=<a read-scope API token> to the feed's URL.",
            status=401,
            content_type="text/plain",
        )
    try:
        caller = token_caller(request, text)
    except ApiError as e:
        response = HttpResponse(e.message, status=e.status, content_type="text/plain")
        for name, value in e.headers.items():
            response[name] = value
        return response
    if in_url and caller.token.can_write:
        return HttpResponse(
            "A write-scope token may not be put in a URL; make a read-scope one for feeds.",
            status=401,
            content_type="text/plain",
        )
    request.user = caller.user
    return None


class PrivateSiteMiddleware:
    """After the session and auth middleware: lets members and the open views through."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not is_private():
            return self.get_response(request)
        response = self._refusal(request) or self.get_response(request)
        patch_cache_control(response, private=True)
        response["X-Robots-Tag"] = "noindex, nofollow"
        return response

    def _refusal(self, request: HttpRequest) -> HttpResponse | None:
        path = request.path_info
        if path.startswith(API_PREFIX) and not path.startswith(API_PAGES):
            if request.user.is_authenticated:
                return None
            return _api(request)
        if request.user.is_authenticated or _open(request):
            return None
        if path.startswith(FEED_PREFIX):
            return _feed(request)
        return redirect_to_login(request.get_full_path())


def robots(request: HttpRequest) -> HttpResponse:
    """robots.txt: a private site asks every crawler to stay out; a public one welcomes them."""
    rules = "Disallow: /" if is_private() else "Disallow:"
    return HttpResponse(f"User-agent: *\n{rules}\n", content_type="text/plain")
