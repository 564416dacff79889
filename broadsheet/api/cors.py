"""CORS for reads: any origin may GET the API and the feeds from a browser.

Only GET/HEAD are allowed cross-origin, and without credentials (no cookies), so another
site's page can read public data but never act as a logged-in member: writes need a token
sent by a program, or our own pages' session + CSRF. A few lines instead of a dependency.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

PREFIXES = ("/api/", "/feeds/")
ALLOWED_METHODS = "GET, HEAD, OPTIONS"
ALLOWED_HEADERS = "Authorization, Accept, Content-Type, If-None-Match, If-Modified-Since"
EXPOSED_HEADERS = "Link, Retry-After, ETag, Last-Modified"
MAX_AGE = "86400"


class ReadOnlyCorsMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path.startswith(PREFIXES):
            return self.get_response(request)
        if request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers:
            response = HttpResponse(status=204)
            response["Access-Control-Allow-Methods"] = ALLOWED_METHODS
            response["Access-Control-Allow-Headers"] = ALLOWED_HEADERS
            response["Access-Control-Max-Age"] = MAX_AGE
        else:
            response = self.get_response(request)
            if request.method not in ("GET", "HEAD"):
                return response
            response["Access-Control-Expose-Headers"] = EXPOSED_HEADERS
        response["Access-Control-Allow-Origin"] = "*"
        return response
