"""Invitations to a private site: made by moderators, single-use, expiring.

A link reads /accounts/invitation/<secret>; the secret is 32 random bytes and only its SHA-256
digest is stored (a leaked database holds no usable link). `consume` marks an invitation used
in one conditional UPDATE, so two people opening the same link at once cannot both join.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone

from broadsheet.accounts.models import Invitation

MAX_SECRET = 100  # longer paths are no link of ours
# The session remembers an opened invitation, so signing up by single sign-on can use it.
SESSION_KEY = "broadsheet_invitation"


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create(moderator, note: str = "") -> tuple[Invitation, str]:
    """A new invitation; returns the row and its secret, which is never stored."""
    secret = secrets.token_urlsafe(32)
    now = timezone.now()
    row = Invitation.objects.create(
        digest=_digest(secret),
        note=note.strip()[:200],
        created_by=moderator,
        created=now,
        expires=now + dt.timedelta(days=settings.INVITE_DAYS),
    )
    return row, secret


def usable() -> QuerySet[Invitation]:
    return Invitation.objects.filter(
        used_at__isnull=True, revoked_at__isnull=True, expires__gt=timezone.now()
    )


def find(secret: str) -> Invitation | None:
    """The usable invitation this link's secret names, or None (unknown, used, expired...)."""
    if not secret or len(secret) > MAX_SECRET:
        return None
    return usable().filter(digest=_digest(secret)).first()


def consume(invitation_id: int, member) -> bool:
    """Mark the invitation used by `member`; False if it was no longer usable."""
    return bool(usable().filter(pk=invitation_id).update(used_at=timezone.now(), used_by=member))


def revoke(invitation_id: int) -> bool:
    """End an unused invitation now; False if there is no such unused one."""
    return bool(
        Invitation.objects.filter(
            pk=invitation_id, used_at__isnull=True, revoked_at__isnull=True
        ).update(revoked_at=timezone.now())
    )
