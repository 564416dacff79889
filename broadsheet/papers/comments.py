"""The rules for comments: one level of replies, editing and deleting one's own."""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.db.models import Prefetch
from django.utils import timezone

from broadsheet.lib.limits import Limit, spend
from broadsheet.papers.models import Comment, Paper


class CommentRefused(Exception):
    """A comment that may not be posted as asked (a 400 with the message)."""


def thread(paper: Paper) -> list[Comment]:
    """The paper's top-level comments, oldest first, each with `.shown_replies`.

    Two queries whatever the count. A top-level comment deleted by its author stays as a
    placeholder only while it has replies to show."""
    replies = Comment.objects.filter(hidden=False, deleted=False).select_related("user")
    top = (
        paper.comments.filter(parent=None, hidden=False)
        .select_related("user")
        .prefetch_related(Prefetch("replies", queryset=replies, to_attr="shown_replies"))
    )
    return [c for c in top if not c.deleted or c.shown_replies]


def post(user, paper: Paper, body: str, parent_id: int | None = None) -> Comment:
    """Post a comment or a reply; raises CommentRefused, or lib.limits.RateLimited past
    BROADSHEET_COMMENTS_PER_HOUR for this member."""
    spend(
        Limit("comment", settings.COMMENTS_PER_HOUR, 3600),
        f"user:{user.pk}",
        "You are posting comments faster than this site allows.",
    )
    parent = None
    if parent_id is not None:
        parent = (
            Comment.objects.filter(pk=parent_id, paper=paper, hidden=False)
            .select_related("parent")
            .first()
        )
        if parent is None:
            raise CommentRefused("The comment you replied to is not there any more.")
        # One level of replies: answering a reply joins its thread.
        if parent.parent is not None:
            parent = parent.parent
        if parent.hidden or parent.deleted:
            raise CommentRefused("The comment you replied to is not there any more.")
    return Comment.objects.create(user=user, paper=paper, parent=parent, body=body)


def edit(comment: Comment, body: str) -> None:
    comment.body = body
    comment.edited = timezone.now()
    comment.save(update_fields=["body", "edited"])


def delete(comment: Comment) -> None:
    """Delete a comment; one with replies stays as a placeholder so the replies keep their
    context. A reply that was the last under a deleted placeholder takes the placeholder too."""
    with transaction.atomic():
        if comment.replies.exists():
            Comment.objects.filter(pk=comment.pk).update(deleted=True, body="")
            return
        parent_id = comment.parent_id
        comment.delete()
        if parent_id is not None:
            Comment.objects.filter(pk=parent_id, deleted=True, replies=None).delete()


def editable_by(user, pk: int) -> Comment | None:
    """The comment `pk` if `user` wrote it and it is still shown; None otherwise."""
    return (
        Comment.objects.filter(pk=pk, user=user, hidden=False, deleted=False, paper__hidden=False)
        .select_related("paper")
        .first()
    )
