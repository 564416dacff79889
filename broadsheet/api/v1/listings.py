"""/api/v1/listings (the feed) and /api/v1/submissions (put an arXiv paper on today's feed)."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone
from ninja import Query, Router, Status

from broadsheet.api.callers import ApiError
from broadsheet.api.v1.auth import MEMBER, READ, WRITE
from broadsheet.api.v1.pagination import link_header
from broadsheet.api.v1.params import ListingFilters
from broadsheet.api.v1.schemas import ErrorOut, ListingOut, ListingPage, MeOut, SubmitIn
from broadsheet.api.v1.serialise import listing_out
from broadsheet.api.v1.since import newest, page_since
from broadsheet.ingest.submit import SubmitError, submit
from broadsheet.lib.limits import RateLimited
from broadsheet.papers.models import Listing
from broadsheet.papers.periods import parse_month, parse_week

router = Router(tags=["listings"])

ERRORS = {400: ErrorOut, 401: ErrorOut, 429: ErrorOut}


def _listings(filters: ListingFilters):
    """The visible listings of the date, week and month given (each narrows the others)."""
    listings = Listing.objects.visible()
    if filters.date is not None:
        listings = listings.listed_on(filters.date)
    try:
        if filters.week is not None:
            listings = listings.in_week(*parse_week(filters.week))
    except Http404 as e:
        raise ApiError(f"Invalid `week`: {e}") from None
    try:
        if filters.month is not None:
            listings = listings.in_month(*parse_month(filters.month))
    except Http404 as e:
        raise ApiError(f"Invalid `month`: {e}") from None
    return listings


@router.get("/listings", response={200: ListingPage, **ERRORS}, auth=READ)
def list_listings(request: HttpRequest, response: HttpResponse, filters: Query[ListingFilters]):
    """The feed: a day's, week's or month's listings (all of them if none is given); with
    `since`, those stored after it, in the order they arrived."""
    listings = _listings(filters)
    if filters.submitter:
        listings = listings.filter(submitted_by__username=filters.submitter)
    if filters.since is not None:
        page, total, following = page_since(request, response, listings, "created", filters)
        return {
            "items": [listing_out(request, item) for item in page],
            "total": total,
            "limit": filters.limit,
            "offset": 0,
            "nextSince": following,
        }
    following = newest(listings, "created")
    if filters.sort == "trending":
        listings = listings.trending(timezone.now())
    elif filters.sort == "recent":
        listings = listings.with_votes().order_by("-submitted_at", "-id")
    else:
        listings = listings.by_votes()
    total = listings.count()
    start, limit = filters.offset, filters.limit
    page = listings.for_cards()[start : start + limit]
    link_header(request, response, total=total, limit=limit, offset=start)
    return {
        "items": [listing_out(request, item) for item in page],
        "total": total,
        "limit": limit,
        "offset": start,
        "nextSince": following,
    }


@router.post(
    "/submissions",
    response={201: ListingOut, 403: ErrorOut, 409: ErrorOut, **ERRORS},
    auth=WRITE,
)
def create_submission(request: HttpRequest, data: SubmitIn):
    """Submit an arXiv paper to today's feed, with the same rules as the submit page."""
    try:
        listing = submit(request.auth.user, data.arxivId)
    except SubmitError as e:
        # Already listed is a conflict with the existing listing; every other refusal
        # (not an id, too old, daily limit, arXiv unreachable) is about this request.
        raise ApiError(str(e), 409 if e.listing is not None else 400) from None
    except RateLimited as e:
        retry = {"Retry-After": str(e.retry_after)}
        raise ApiError(f"{e} Try again in {e.retry_after} seconds.", 429, retry) from None
    listing = Listing.objects.for_cards().get(pk=listing.pk)
    return Status(201, listing_out(request, listing))


me_router = Router(tags=["account"])


@me_router.get("/me", response={200: MeOut, 401: ErrorOut, 429: ErrorOut}, auth=MEMBER)
def me(request: HttpRequest):
    """Who the credentials belong to, and what they may do."""
    caller = request.auth
    if caller.token is not None:
        return {"username": caller.user.username, "auth": "token", "scope": caller.token.scope}
    return {"username": caller.user.username, "auth": "session", "scope": "write"}
