"""The rules for upvoting: one vote per member per paper, count kept in step with the rows."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F

from broadsheet.lib.models import TokenBucket
from broadsheet.papers.models import Paper, Upvote


class RateLimited(Exception):
    """The member voted more often than BROADSHEET_VOTES_PER_MINUTE."""


@dataclass(frozen=True)
class VoteResult:
    upvoted: bool
    votes: int


def _result(paper_id: int, upvoted: bool) -> VoteResult:
    p = Paper.objects.values("upvote_count", "source_upvotes").get(pk=paper_id)
    return VoteResult(upvoted, p["upvote_count"] + p["source_upvotes"])


def check_vote_rate(user) -> None:
    if not TokenBucket.authorize(f"vote:{user.pk}", settings.VOTES_PER_MINUTE, 60):
        raise RateLimited


def add_upvote(user, paper: Paper) -> VoteResult:
    """Upvote; a second upvote by the same member changes nothing."""
    with transaction.atomic():
        try:
            with transaction.atomic():
                Upvote.objects.create(user=user, paper=paper)
        except IntegrityError:
            # Already voted (perhaps by a concurrent request): the unique constraint decided.
            return _result(paper.pk, True)
        Paper.objects.filter(pk=paper.pk).update(upvote_count=F("upvote_count") + 1)
        return _result(paper.pk, True)


def remove_upvote(user, paper: Paper) -> VoteResult:
    with transaction.atomic():
        deleted, _ = Upvote.objects.filter(user=user, paper=paper).delete()
        if deleted:
            Paper.objects.filter(pk=paper.pk, upvote_count__gt=0).update(
                upvote_count=F("upvote_count") - 1
            )
        return _result(paper.pk, False)


def toggle_upvote(user, paper: Paper) -> VoteResult:
    """Vote if the member has not, withdraw the vote if they have. Rate-limited per member."""
    check_vote_rate(user)
    with transaction.atomic():
        if Upvote.objects.filter(user=user, paper=paper).exists():
            return remove_upvote(user, paper)
        return add_upvote(user, paper)
