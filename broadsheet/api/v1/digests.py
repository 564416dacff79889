"""/api/v1/me/subscription and /api/v1/me/saved-searches: the caller's email digest.

Reading needs a token of either scope (or a session); changing needs write scope, as for the
other endpoints. The rules (double opt-in, merging, limits) are the digests app's.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from django.http import HttpRequest
from django.urls import reverse
from ninja import Router, Schema, Status
from pydantic import Field

from broadsheet.api.callers import ApiError
from broadsheet.api.v1.auth import MEMBER, WRITE
from broadsheet.api.v1.schemas import ErrorOut
from broadsheet.digests import subscribe as rules
from broadsheet.digests.models import SavedSearch, Subscription

router = Router(tags=["digest"])

ERRORS = {400: ErrorOut, 401: ErrorOut, 429: ErrorOut}
WRITE_ERRORS = ERRORS | {403: ErrorOut}


class SubscriptionOut(Schema):
    status: str = Field(
        description='"none", "pending" (waiting for the emailed link), "confirmed", '
        '"unsubscribed" or "disabled" (the mail server rejected the address)'
    )
    email: str | None
    frequency: str
    weekdays: list[int] = Field(description="Days a daily digest is sent: 0 Monday .. 6 Sunday")
    topN: int
    savedSearches: bool
    picks: bool


class SubscriptionIn(Schema):
    subscribed: bool | None = Field(
        None,
        description="true subscribes the account's email (a confirmation link is "
        "emailed first); false unsubscribes",
    )
    frequency: Literal["daily", "weekly"] | None = None
    weekdays: list[Annotated[int, Field(ge=0, le=6)]] | None = Field(None, max_length=7)
    topN: int | None = Field(None, ge=0, le=50)
    savedSearches: bool | None = None
    picks: bool | None = None


class SavedSearchIn(Schema):
    query: str = Field(min_length=1, max_length=250)
    category: str = Field("", max_length=32)
    author: str = Field("", max_length=200)


class SavedSearchOut(Schema):
    id: int
    query: str
    category: str
    author: str
    created: dt.datetime
    rssUrl: str = Field(description="Private feed URL: anyone holding it can read this search")
    atomUrl: str


def _status(sub: Subscription | None) -> str:
    if sub is None:
        return "none"
    if not sub.active:
        return "unsubscribed"
    if sub.disabled_reason:
        return "disabled"
    return "confirmed" if sub.confirmed_at else "pending"


def subscription_out(sub: Subscription | None) -> dict:
    shown = sub or Subscription()
    return {
        "status": _status(sub),
        "email": sub.email if sub else None,
        "frequency": shown.frequency,
        "weekdays": [int(d) for d in shown.weekdays],
        "topN": shown.top_n,
        "savedSearches": shown.include_saved_searches,
        "picks": shown.include_picks,
    }


def saved_search_out(request: HttpRequest, saved: SavedSearch) -> dict:
    return {
        "id": saved.pk,
        "query": saved.query,
        "category": saved.category,
        "author": saved.author,
        "created": saved.created,
        "rssUrl": request.build_absolute_uri(reverse("saved-search-rss", args=[saved.feed_token])),
        "atomUrl": request.build_absolute_uri(
            reverse("saved-search-atom", args=[saved.feed_token])
        ),
    }


@router.get("/me/subscription", response={200: SubscriptionOut, **ERRORS}, auth=MEMBER)
def get_subscription(request: HttpRequest):
    """Your email digest: whether it is on, how often, and what it holds."""
    return subscription_out(rules.subscription_of(request.auth.user))


@router.patch(
    "/me/subscription", response={200: SubscriptionOut, 409: ErrorOut, **WRITE_ERRORS}, auth=WRITE
)
def update_subscription(request: HttpRequest, data: SubscriptionIn):
    """Change your digest; `subscribed: true` starts it (after the emailed confirmation)."""
    user = request.auth.user
    try:
        if data.subscribed:
            sub = rules.subscription_of(user)
            if sub is None or not sub.active:
                sub = rules.subscribe(user.email, user=user)
        sub = rules.subscription_of(user)
    except rules.DigestError as e:
        raise ApiError(str(e)) from None
    if sub is None:
        if any(v is not None for v in data.dict().values()):
            raise ApiError('Not subscribed: send "subscribed": true first.', 409)
        return subscription_out(None)
    if data.subscribed is False and sub.active:
        rules.unsubscribe(sub)
    changes = {
        "frequency": data.frequency,
        "weekdays": "".join(sorted({str(d) for d in data.weekdays})) if data.weekdays else None,
        "top_n": data.topN,
        "include_saved_searches": data.savedSearches,
        "include_picks": data.picks,
    }
    changes = {k: v for k, v in changes.items() if v is not None}
    if changes:
        Subscription.objects.filter(pk=sub.pk).update(**changes)
    sub.refresh_from_db()
    return subscription_out(sub)


@router.get("/me/saved-searches", response={200: list[SavedSearchOut], **ERRORS}, auth=MEMBER)
def list_saved_searches(request: HttpRequest):
    """Your saved searches, oldest first, with their private feed URLs."""
    return [saved_search_out(request, s) for s in rules.saved_searches_of(request.auth.user)]


@router.post(
    "/me/saved-searches",
    response={200: SavedSearchOut, 201: SavedSearchOut, **WRITE_ERRORS},
    auth=WRITE,
)
def create_saved_search(request: HttpRequest, data: SavedSearchIn):
    """Save a search: its new papers come in your digest. Saving one again returns it (200)."""
    try:
        saved, created = rules.save_search(
            request.auth.user, data.query, data.category, data.author
        )
    except rules.DigestError as e:
        raise ApiError(str(e)) from None
    return Status(201 if created else 200, saved_search_out(request, saved))


@router.delete(
    "/me/saved-searches/{int:saved_id}",
    response={204: None, 404: ErrorOut, **WRITE_ERRORS},
    auth=WRITE,
)
def delete_saved_search(request: HttpRequest, saved_id: int):
    """Delete one of your saved searches (its feed URLs stop working)."""
    if not rules.delete_saved_search(request.auth.user, saved_id):
        raise ApiError("Saved search not found.", 404)
    return Status(204, None)
