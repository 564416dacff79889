"""Signed tokens in digest links: confirm a subscription, unsubscribe, manage it.

Each is Django's signing (HMAC with the secret key) over the subscription id and its `key`,
with its own salt so one kind of token is never accepted as another. Confirmation links expire
(BROADSHEET_DIGEST_CONFIRM_DAYS); unsubscribe and manage links do not, since a reader may use
an old email's link years later, but rotating the subscription's key (on unsubscribe and
resubscribe) retires every link made before.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.core import signing

from broadsheet.digests.models import Subscription

CONFIRM, UNSUBSCRIBE, MANAGE = "confirm", "unsubscribe", "manage"


def _salt(kind: str) -> str:
    return f"broadsheet.digests.{kind}"


def make_token(subscription: Subscription, kind: str) -> str:
    return signing.TimestampSigner(salt=_salt(kind)).sign(f"{subscription.pk}.{subscription.key}")


def read_token(token: str, kind: str) -> Subscription | None:
    """The subscription the token names, or None (forged, expired, retired, malformed)."""
    max_age = None
    if kind == CONFIRM:
        max_age = dt.timedelta(days=settings.DIGEST_CONFIRM_DAYS)
    try:
        value = signing.TimestampSigner(salt=_salt(kind)).unsign(token[:200], max_age=max_age)
    except signing.BadSignature:  # SignatureExpired is a BadSignature too
        return None
    pk, _, key = value.partition(".")
    if not pk.isdigit():
        return None
    return Subscription.objects.filter(pk=int(pk), key=key).select_related("user").first()
