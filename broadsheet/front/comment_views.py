"""A member's own comments (edit, delete) and reporting anyone's."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from broadsheet.front.forms import CommentForm, ReportForm
from broadsheet.papers import comments
from broadsheet.papers.models import Comment
from broadsheet.papers.moderation import report_comment


def _own_comment(request, pk: int) -> Comment:
    """The comment if the member wrote it: 404 when it is not shown at all, 403 when it is
    someone else's."""
    comment = comments.editable_by(request.user, pk)
    if comment is not None:
        return comment
    if Comment.objects.visible().filter(pk=pk, deleted=False, paper__hidden=False).exists():
        raise PermissionDenied("You can only change your own comments.")
    raise Http404("No such comment")


@login_required
@require_http_methods(["GET", "POST"])
def edit_comment(request, pk: int):
    comment = _own_comment(request, pk)
    form = CommentForm(request.POST or None, initial={"body": comment.body})
    if request.method == "POST" and form.is_valid():
        comments.edit(comment, form.cleaned_data["body"])
        messages.success(request, "Comment saved.")
        return redirect(comment.get_absolute_url())
    status = 400 if form.errors else 200
    return render(
        request, "front/comment_edit.html", {"comment": comment, "form": form}, status=status
    )


@login_required
@require_POST
def delete_comment(request, pk: int):
    comment = _own_comment(request, pk)
    paper = comment.paper
    comments.delete(comment)
    messages.success(request, "Comment deleted.")
    return redirect(f"{paper.get_absolute_url()}#comments")


@login_required
@require_POST
def report(request, pk: int):
    comment = (
        Comment.objects.visible()
        .filter(pk=pk, deleted=False, paper__hidden=False)
        .select_related("paper")
        .first()
    )
    if comment is None:
        raise Http404("No such comment")
    if comment.user_id == request.user.pk:
        return HttpResponse(
            "You cannot report your own comment.", status=400, content_type="text/plain"
        )
    form = ReportForm(request.POST)
    if not form.is_valid():
        return HttpResponse(form.errors["reason"][0], status=400, content_type="text/plain")
    report_comment(request.user, comment, form.cleaned_data["reason"])
    messages.success(request, "Thank you: a moderator will look at it.")
    return redirect(comment.get_absolute_url())
