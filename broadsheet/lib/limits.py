"""Rate limits on the site's own pages (comments, submissions, search), per member or per
client, kept in the database token bucket (lib.models.TokenBucket): shared by every web
worker and host, and still there after a restart.

A limit is `capacity` actions per `period` seconds: a burst of `capacity`, then one action
every period / capacity seconds. Over it, the page answers 429 with Retry-After.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string

from broadsheet.lib.clients import client_ip
from broadsheet.lib.models import TokenBucket


@dataclass(frozen=True)
class Limit:
    name: str  # the bucket's key prefix, e.g. "comment"
    capacity: int
    period: float  # seconds

    @property
    def retry_after(self) -> int:
        """Seconds until a refused caller has one action's worth again (at most)."""
        return max(1, math.ceil(self.period / self.capacity))


class RateLimited(Exception):
    """Over a limit; str() is the message for the person, `retry_after` is in seconds."""

    def __init__(self, message: str, retry_after: int):
        super().__init__(message)
        self.retry_after = retry_after


def client_key(request: HttpRequest) -> str:
    """A logged-in member is one caller wherever they are; anyone else is their address."""
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return f"user:{user.pk}"
    return f"ip:{client_ip(request) or 'unknown'}"


def spend(limit: Limit, who: str, message: str) -> None:
    """Spend one action of `limit` for `who`; raises RateLimited when none is left."""
    if not TokenBucket.authorize(f"{limit.name}:{who}", limit.capacity, limit.period):
        raise RateLimited(message, limit.retry_after)


def wait_text(seconds: int) -> str:
    if seconds < 60:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    minutes = math.ceil(seconds / 60)
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


def too_many_page(
    request: HttpRequest,
    message: str,
    retry_after: int,
    heading: str = "Too many requests",
    link: tuple[str, str] | None = None,
) -> HttpResponse:
    """The 429 page, in the site's layout, with Retry-After; `link` is (url, text)."""
    context = {"heading": heading, "message": message, "wait": wait_text(retry_after)}
    if link is not None:
        context["link_url"], context["link_text"] = link
    body = render_to_string("limits/too_many.html", context, request=request)
    response = HttpResponse(body, status=429)
    response["Retry-After"] = str(retry_after)
    return response


def too_many_text(message: str, retry_after: int) -> HttpResponse:
    """The 429 for feed readers and scripts: plain text, with Retry-After."""
    response = HttpResponse(
        f"{message} Try again in {wait_text(retry_after)}.\n",
        status=429,
        content_type="text/plain; charset=utf-8",
    )
    response["Retry-After"] = str(retry_after)
    return response
