"""Roles and moderation actions. Every action writes one audit-log row in its transaction.

Roles: a *member* is any active account; a *moderator* is a staff member with the
`papers.moderate` permission (the Moderators group has it); an *admin* is a superuser.
Suspending a member is `is_active = False`: Django then refuses their login and drops their
open sessions, and API tokens of inactive members are refused, so a suspended member can no
longer vote, comment or submit anywhere.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractUser
from django.db import transaction
from django.db.models import Model
from django.utils import timezone

from broadsheet.papers.models import (
    AuthorClaim,
    Comment,
    CommentReport,
    Listing,
    ModerationAction,
    Paper,
)

Action = ModerationAction.Action
REASON_MAX = 1000
# The kinds of thing a moderator may hide, by the name used in URLs and in the audit log.
HIDEABLE: dict[str, type[Model]] = {"paper": Paper, "listing": Listing, "comment": Comment}


class NotAllowed(Exception):
    """The actor may not take this action on this target (a 403 with the message)."""


def is_moderator(user) -> bool:
    return bool(
        user.is_authenticated
        and user.is_active
        and user.is_staff
        and user.has_perm("papers.moderate")
    )


def label_of(target) -> str:
    if isinstance(target, Comment):
        return f"comment by {target.user.username} on {target.paper.ref}"
    if isinstance(target, Listing):
        return f"listing of {target.paper.ref} on {target.day}"
    if isinstance(target, get_user_model()):
        return target.username
    if isinstance(target, AuthorClaim):
        return f"{target.user.username} as {target.author.name}"
    return str(target)


def log(actor, action: str, target, reason: str = "") -> ModerationAction:
    kind = "member" if isinstance(target, get_user_model()) else target._meta.model_name
    if kind == "authorclaim":
        kind = "claim"
    return ModerationAction.objects.create(
        actor=actor,
        actor_name=actor.get_username(),
        action=action,
        target_type=kind,
        target_id=target.pk,
        target_label=label_of(target)[:300],
        reason=reason[:REASON_MAX],
    )


def set_hidden(actor, target, hidden: bool, reason: str = "") -> bool:
    """Hide or show a paper, listing or comment. False when it already was so (not logged)."""
    with transaction.atomic():
        changed = type(target).objects.filter(pk=target.pk, hidden=not hidden).update(hidden=hidden)
        if not changed:
            return False
        target.hidden = hidden
        if isinstance(target, Comment) and hidden:
            # Hiding settles the reports that asked for it.
            target.reports.filter(resolved=False).update(resolved=True)
        log(actor, Action.HIDE if hidden else Action.UNHIDE, target, reason)
    return True


def check_may_suspend(actor, member: AbstractUser) -> None:
    """Members < moderators < admins: nobody suspends themselves, and only an admin may
    suspend staff (moderators) or another admin."""
    if member.pk == actor.pk:
        raise NotAllowed("You cannot suspend yourself.")
    if (member.is_staff or member.is_superuser) and not actor.is_superuser:
        raise NotAllowed("Only an administrator may suspend a moderator or an administrator.")


def set_suspended(actor, member: AbstractUser, suspended: bool, reason: str = "") -> bool:
    check_may_suspend(actor, member)
    with transaction.atomic():
        changed = (
            get_user_model()
            .objects.filter(pk=member.pk, is_active=suspended)
            .update(is_active=not suspended)
        )
        if not changed:
            return False
        member.is_active = not suspended
        log(actor, Action.SUSPEND if suspended else Action.UNSUSPEND, member, reason)
    return True


def dismiss_reports(actor, comment: Comment, reason: str = "") -> int:
    with transaction.atomic():
        n = comment.reports.filter(resolved=False).update(resolved=True)
        if n:
            log(actor, Action.DISMISS_REPORTS, comment, reason)
    return n


def decide_claim(actor, claim: AuthorClaim, approve: bool, reason: str = "") -> None:
    """Approve (the member becomes the author's claimant) or reject a pending claim."""
    with transaction.atomic():
        claim = (
            AuthorClaim.objects.select_for_update()
            .select_related("author", "user")
            .get(pk=claim.pk)
        )
        if claim.status != AuthorClaim.Status.PENDING:
            raise NotAllowed(f"This claim was already {claim.get_status_display().lower()}.")
        author = claim.author
        if approve:
            if author.claimed_by_id not in (None, claim.user_id):
                raise NotAllowed(f"{author.name} is already claimed by another member.")
            author.claimed_by = claim.user
            author.save(update_fields=["claimed_by"])
        claim.status = AuthorClaim.Status.APPROVED if approve else AuthorClaim.Status.REJECTED
        claim.decided_at = timezone.now()
        claim.decided_by = actor
        claim.save(update_fields=["status", "decided_at", "decided_by"])
        log(actor, Action.APPROVE_CLAIM if approve else Action.REJECT_CLAIM, claim, reason)


def report_comment(reporter, comment: Comment, reason: str = "") -> CommentReport:
    """A member's report; reporting the same comment again updates the one report."""
    now = timezone.now()
    report, _ = CommentReport.objects.update_or_create(
        comment=comment,
        reporter=reporter,
        defaults={"reason": reason[:500], "updated": now, "resolved": False},
        create_defaults={"reason": reason[:500], "created": now, "updated": now},
    )
    return report
