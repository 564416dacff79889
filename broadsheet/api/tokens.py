"""Creating, checking and revoking personal API tokens (see models.ApiToken).

A token reads `bsk_<prefix>_<secret>`: the fixed start lets secret scanners (and people)
recognise it; the prefix finds the row; the digest of the whole string is compared in
constant time.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets

from django.utils import timezone

from broadsheet.api.models import ApiToken

MARK = "bsk_"
MAX_TOKENS_PER_MEMBER = 20
# last_used is written at most this often per token, so busy clients do not write on every read.
LAST_USED_RESOLUTION = dt.timedelta(minutes=5)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(user, name: str, scope: str = ApiToken.Scope.READ) -> tuple[ApiToken, str]:
    """A new token for `user`; returns the row and the token text, which is never stored."""
    if scope not in ApiToken.Scope.values:
        raise ValueError(f"unknown scope {scope!r}")
    prefix = secrets.token_hex(6)
    token = f"{MARK}{prefix}_{secrets.token_urlsafe(32)}"
    row = ApiToken.objects.create(
        user=user,
        name=name.strip()[:100] or "token",
        prefix=prefix,
        digest=_digest(token),
        scope=scope,
    )
    return row, token


def find_token(token: str) -> ApiToken | None:
    """The live token row for this text, or None (malformed, unknown, revoked, inactive member)."""
    if not token.startswith(MARK) or len(token) > 200:
        return None
    prefix, sep, _ = token[len(MARK) :].partition("_")
    if not sep or not prefix.isalnum():
        return None
    row = ApiToken.objects.select_related("user").filter(prefix=prefix).first()
    if row is None or not hmac.compare_digest(row.digest, _digest(token)):
        return None
    if not row.user.is_active:
        return None
    now = timezone.now()
    if row.last_used is None or now - row.last_used > LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=row.pk).update(last_used=now)
        row.last_used = now
    return row


def revoke_token(user, token_id: int) -> bool:
    """Delete one of `user`'s tokens; False if there was none with that id."""
    deleted, _ = ApiToken.objects.filter(user=user, pk=token_id).delete()
    return bool(deleted)
