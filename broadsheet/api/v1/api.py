"""The NinjaAPI object of /api/v1/: routers, error handlers, OpenAPI tweaks.

Every error, ninja's own included, is `{"error": "..."}` with a 4xx status.
"""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError

from broadsheet.api.callers import ApiError
from broadsheet.api.v1.collections import router as collections_router
from broadsheet.api.v1.digests import router as digests_router
from broadsheet.api.v1.listings import me_router
from broadsheet.api.v1.listings import router as listings_router
from broadsheet.api.v1.papers import router as papers_router

DESCRIPTION = """\
Broadsheet's own API. Reading needs no credentials (except your own collections). Writing
(upvotes, submissions, collections) needs a personal API token with write scope, created at
/settings/tokens and sent as
`Authorization: Bearer <token>`, or a logged-in session plus its CSRF token.
Requests are rate-limited per token, per member and per IP address: over the limit the answer
is 429 with `Retry-After`. Lists are pages (`limit`, `offset`) with `Link` headers for the next
and previous pages. Errors are `{"error": "..."}`.

The Hugging Face-compatible endpoints (`/api/daily_papers`, `/api/papers/{id}`,
`/api/papers/search`) are documented by Hugging Face; they are not part of this document.
"""


class BroadsheetAPI(NinjaAPI):
    def get_openapi_schema(self, *args, **kwargs):
        schema = super().get_openapi_schema(*args, **kwargs)
        # Reads accept a token but do not need one: say so (an empty requirement is
        # "no credentials"), so clients and generated tests do not think GETs need a token.
        for url, item in schema.get("paths", {}).items():
            get = item.get("get")
            if get and not url.endswith(("/me", "/collections")) and "/me/" not in url:
                get["security"] = [{}, *get.get("security", [])]
        return schema


api = BroadsheetAPI(
    title="Broadsheet API",
    version="1",
    description=DESCRIPTION,
    urls_namespace="api-v1",
    docs_url=None,  # served at /api/docs instead, beside the API rather than inside it
)
api.add_router("", papers_router)
api.add_router("", listings_router)
api.add_router("", me_router)
api.add_router("", digests_router)
api.add_router("", collections_router)


def _error(request: HttpRequest, message: str, status: int) -> HttpResponse:
    return api.create_response(request, {"error": message}, status=status)


@api.exception_handler(ApiError)
def on_api_error(request: HttpRequest, exc: ApiError) -> HttpResponse:
    response = _error(request, exc.message, exc.status)
    for name, value in exc.headers.items():
        response[name] = value
    return response


@api.exception_handler(ValidationError)
def on_validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    problems = []
    for err in exc.errors[:5]:
        # loc is like ("query", "limit") or ("body", "data", "arxivId"): name the field.
        where = ".".join(str(p) for p in err.get("loc", ())[1:] if p != "data") or "request"
        problems.append(f"{where}: {err.get('msg', 'invalid')}")
    return _error(request, "Invalid request: " + "; ".join(problems), 400)


@api.exception_handler(AuthenticationError)
def on_authentication_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    response = _error(request, "Authentication required.", 401)
    response["WWW-Authenticate"] = 'Bearer realm="api"'
    return response


@api.exception_handler(HttpError)
def on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    return _error(request, str(exc), exc.status_code)


@api.exception_handler(Http404)
def on_not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return _error(request, "Not found.", 404)
