"""The page a locked-out login gets (django-axes' AXES_LOCKOUT_CALLABLE): 429, in the site's
layout, saying how long until the next try."""

from __future__ import annotations

import math

from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_cool_off, get_failure_limit
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone

from broadsheet.lib.limits import too_many_page


def seconds_locked(request: HttpRequest, credentials: dict | None) -> int:
    """Seconds until the account and the client are both below the limit again.

    Axes counts the failures of the last cool-off period; a lock ends when enough of them
    are older than that. Each group (this username, this address) is counted separately.
    """
    now = timezone.now()
    limit = get_failure_limit(request, credentials)
    cool_off = get_cool_off(request)
    until = now
    for attempts in AxesProxyHandler.get_implementation().get_user_attempts(request, credentials):
        failures = 0
        rows = attempts.order_by("-attempt_time").values_list(
            "attempt_time", "failures_since_start"
        )
        for attempt_time, count in rows:
            failures += count
            if failures >= limit:
                until = max(until, attempt_time + cool_off)
                break
    return max(1, math.ceil((until - now).total_seconds()))


def lockout_response(
    request: HttpRequest, original_response=None, credentials=None
) -> HttpResponse:
    wait = seconds_locked(request, credentials)
    # Round up to whole minutes: the page and Retry-After agree.
    wait = max(60, math.ceil(wait / 60) * 60)
    return too_many_page(
        request,
        "Too many failed login attempts for this account or from this address: logging in "
        "is paused for a while.",
        wait,
        heading="Too many login attempts",
        link=(reverse("password_reset"), "Forgot your password? Reset it."),
    )
