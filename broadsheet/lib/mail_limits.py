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

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from broadsheet.lib.limits import Limit, RateLimited, client_key, spend, too_many_page
from broadsheet.lib.models import TokenBucket


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def may_mail(kind: str, address: str) -> bool:
    """True (and counted) if an email of `kind` may go to `address` now."""
    minutes = settings.MAIL_COOLDOWN_MINUTES
    if minutes == 0:
        return True
    key = f"mail-cooldown:{kind}:{_digest(address.strip().lower())}"
    return TokenBucket.authorize(key, 1, minutes * 60)


def limit_posts(form: str):
    """Answer 429 to a client's POSTs to `form` beyond the hourly limit (GETs are free)."""

    def decorator(view):
        @functools.wraps(view)
        def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            if request.method == "POST":
                per_hour = settings.MAIL_FORM_POSTS_PER_HOUR
                message = f"This form was sent more than {per_hour} times in an hour from here."
                try:
                    spend(Limit(f"mail-form:{form}", per_hour, 3600), client_key(request), message)
                except RateLimited as e:
                    return too_many_page(request, str(e), e.retry_after)
            return view(request, *args, **kwargs)

        return wrapped

    return decorator
