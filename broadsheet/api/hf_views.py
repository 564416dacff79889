"""The Hugging Face-compatible endpoints: code written for huggingface.co's Papers API works
against a Broadsheet by changing only the base URL (see docs/api.md, "Hugging Face-compatible API").

    GET /api/daily_papers?date=|week=|month=&submitter=&sort=publishedAt|trending&p=&limit=
    GET /api/papers/{id}
    GET /api/papers/search?q=&limit=
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import wraps
from urllib.parse import urlencode

from django.http import Http404, HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_safe

from broadsheet.api.callers import ApiError, identify
from broadsheet.api.hf_format import hf_listing_item, hf_paper_detail, hf_search_item
from broadsheet.papers.loaders import get_paper, with_output_relations
from broadsheet.papers.models import Listing
from broadsheet.papers.periods import parse_day, parse_month, parse_week
from broadsheet.search.papers_search import MAX_QUERY, cost_error, search_papers

DEFAULT_LIMIT = 50
MAX_LIMIT = 100
MAX_PAGE = 100_000
SEARCH_DEFAULT_LIMIT = 50
SEARCH_MAX_LIMIT = 120
_INT = re.compile(r"\d{1,9}", re.ASCII)


def error(message: str, status: int, headers: dict | None = None) -> JsonResponse:
    response = JsonResponse({"error": message}, status=status)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def hf_endpoint(view: Callable) -> Callable:
    """GET (and HEAD) only; the caller identified and rate-limited; ApiError answered as JSON."""

    @require_safe
    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs):
        try:
            identify(request, foreign_tokens=True)
            return view(request, *args, **kwargs)
        except ApiError as e:
            return error(e.message, e.status, e.headers)

    return wrapper


def _int_param(request: HttpRequest, name: str, default: int, low: int, high: int) -> int:
    text = request.GET.get(name)
    if text is None or text == "":
        return default
    if not _INT.fullmatch(text) or not low <= int(text) <= high:
        raise ApiError(f"`{name}` must be an integer from {low} to {high}.")
    return int(text)


def _period(request: HttpRequest):
    """The listings of the date, week or month asked for (all listings if none)."""
    given = [name for name in ("date", "week", "month") if request.GET.get(name)]
    if len(given) > 1:
        raise ApiError("Give at most one of `date`, `week` and `month`.")
    listings = Listing.objects.visible()
    try:
        if "date" in given:
            return Listing.objects.listed_on(parse_day(request.GET["date"]))
        if "week" in given:
            return Listing.objects.in_week(*parse_week(request.GET["week"]))
        if "month" in given:
            return Listing.objects.in_month(*parse_month(request.GET["month"]))
    except Http404 as e:
        raise ApiError(f"Invalid `{given[0]}`: {e}") from None
    return listings


@hf_endpoint
def daily_papers(request: HttpRequest) -> JsonResponse:
    limit = _int_param(request, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
    page = _int_param(request, "p", 0, 0, MAX_PAGE)
    sort = request.GET.get("sort") or "publishedAt"
    listings = _period(request)
    if submitter := request.GET.get("submitter"):
        if "\x00" in submitter:
            raise ApiError("Invalid `submitter`.")
        listings = listings.filter(submitted_by__username=submitter)
    if sort == "publishedAt":
        listings = listings.order_by("-submitted_at", "-id")
    elif sort == "trending":
        listings = listings.trending(timezone.now())
    else:
        raise ApiError("`sort` must be `publishedAt` or `trending`.")
    start = page * limit
    rows = list(listings.for_cards()[start : start + limit + 1])
    response = JsonResponse([hf_listing_item(item) for item in rows[:limit]], safe=False)
    if len(rows) > limit:
        query = request.GET.copy()
        query["p"] = str(page + 1)
        url = request.build_absolute_uri(f"{request.path}?{urlencode(query, doseq=True)}")
        response["Link"] = f'<{url}>; rel="next"'
    return response


@hf_endpoint
def paper(request: HttpRequest, ref: str) -> JsonResponse:
    found = get_paper(ref)
    if found is None:
        raise ApiError("Paper not found.", 404)
    return JsonResponse(hf_paper_detail(found))


@hf_endpoint
def search(request: HttpRequest) -> JsonResponse:
    query = request.GET.get("q", "")
    if len(query) > MAX_QUERY:
        raise ApiError(f"`q` is longer than {MAX_QUERY} characters.")
    limit = _int_param(request, "limit", SEARCH_DEFAULT_LIMIT, 1, SEARCH_MAX_LIMIT)
    if problem := cost_error(query):
        raise ApiError(problem)
    results = search_papers(query, limit=limit)
    papers = with_output_relations([hit.paper for hit in results.hits])
    return JsonResponse([hf_search_item(p) for p in papers], safe=False)


@csrf_exempt  # a POST to no route should be a 404, not a CSRF failure page
def not_found(request: HttpRequest) -> JsonResponse:
    return error("Not found.", 404)
