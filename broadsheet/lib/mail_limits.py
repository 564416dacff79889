"""Limits on the email a stranger can make us send, kept in the database (TokenBucket).

Two kinds:
- per address: at most one email of a kind (password reset, sign-up, "someone used your
  address") per BROADSHEET_MAIL_COOLDOWN_MINUTES, whoever asks. The page answers the same
  whether or not the email went out, so the limit tells nobody anything.
- per client: at most BROADSHEET_MAIL_FORM_POSTS_PER_HOUR posts to each form that sends email,
  per client address; more are answered 429 with a message.
"""

from __future__ import annotations

import functools
import hashlib
import math

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from broadsheet.lib.clients import client_ip
from broadsheet.lib.limits import too_many_page
from broadsheet.lib.models import TokenBucket


def requesting_client(request: HttpRequest) -> str:
    """The address the per-client limits count by: the client behind any trusted proxy."""
    return client_ip(request) or "unknown"


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def may_mail(kind: str, address: str) -> bool:
    """True (and counted) if an email of `kind` may go to `address` now."""
    minutes = settings.MAIL_COOLDOWN_MINUTES
    if minutes == 0:
        return True
    key = f"mail-cooldown:{kind}:{_digest(address.strip().lower())}"
    return TokenBucket.authorize(key, 1, minutes * 60)


def client_may_post(form: str, request: HttpRequest) -> bool:
    key = f"mail-form:{form}:{_digest(requesting_client(request))}"
    return TokenBucket.authorize(key, settings.MAIL_FORM_POSTS_PER_HOUR, 3600)


def limit_posts(form: str):
    """Answer 429 to a client's POSTs to `form` beyond the hourly limit (GETs are free)."""

    def decorator(view):
        @functools.wraps(view)
        def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            if request.method == "POST" and not client_may_post(form, request):
                per_hour = settings.MAIL_FORM_POSTS_PER_HOUR
                message = (
                    f"This form was sent more than {per_hour} times in an hour from your network."
                )
                return too_many_page(request, message, math.ceil(3600 / max(per_hour, 1)))
            return view(request, *args, **kwargs)

        return wrapped

    return decorator
