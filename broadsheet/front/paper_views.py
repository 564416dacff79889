"""A paper's page, its BibTeX, and the actions on it (upvote, comment)."""

from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from broadsheet.front.bibtex import paper_bibtex
from broadsheet.front.forms import CommentForm, PaperLinksForm, ReplyForm
from broadsheet.front.page_cache import shows
from broadsheet.front.view_helpers import back_to, cards_context, get_paper, wants_json
from broadsheet.lib import limits
from broadsheet.papers import comments, content_scopes
from broadsheet.papers.authors import is_claimed_author
from broadsheet.papers.models import Upvote
from broadsheet.papers.moderation import is_moderator
from broadsheet.papers.votes import RateLimited, toggle_upvote
from broadsheet.search.context import related_papers


def paper_page(
    request,
    ref: str,
    form: CommentForm | None = None,
    links_form: PaperLinksForm | None = None,
    error: str = "",
):
    paper = get_paper(ref)
    if ref != paper.ref:
        return redirect(paper)
    shows(request, content_scopes.paper(paper.pk))
    listing = getattr(paper, "listing", None)
    if listing is not None and listing.hidden:
        listing = None
    thread = comments.thread(paper)
    is_author = is_claimed_author(request.user, paper)
    if is_author and links_form is None:
        links_form = PaperLinksForm(
            initial={"github_repo": paper.github_repo, "project_url": paper.project_url}
        )
    failed = bool(error or (form and form.errors) or (links_form and links_form.errors))
    context = {
        "paper": paper,
        "listing": listing,
        "comments": thread,
        "comment_count": sum(not c.deleted for c in thread)
        + sum(len(c.shown_replies) for c in thread),
        "form": form or CommentForm(),
        "error": error,
        "is_moderator": is_moderator(request.user),
        "links_form": links_form if is_author else None,
        "voted": request.user.is_authenticated
        and Upvote.objects.filter(user=request.user, paper=paper).exists(),
        "comment_max": settings.COMMENT_MAX_LENGTH,
    }
    context.update(related_papers(paper))

    context.update(cards_context(request.user, [paper]))
    return render(request, "front/paper.html", context, status=400 if failed else 200)


def paper_bib(request, ref: str):
    paper = get_paper(ref)
    response = HttpResponse(paper_bibtex(paper), content_type="application/x-bibtex; charset=utf-8")
    response["Content-Disposition"] = f'inline; filename="{paper.slug}.bib"'
    return response


@require_POST
def upvote(request, ref: str):
    paper = get_paper(ref)
    if not request.user.is_authenticated:
        login = f"{reverse('login')}?{urlencode({'next': back_to(request, paper)})}"
        if wants_json(request):
            return JsonResponse({"error": "Log in to vote.", "login_url": login}, status=401)
        return redirect(login)
    try:
        result = toggle_upvote(request.user, paper)
    except RateLimited:
        message = "You are voting too fast. Wait a minute and try again."
        if wants_json(request):
            response = JsonResponse({"error": message}, status=429)
        else:
            response = HttpResponse(message, status=429, content_type="text/plain")
        response["Retry-After"] = "60"
        return response
    if wants_json(request):
        return JsonResponse({"upvoted": result.upvoted, "votes": result.votes})
    return redirect(back_to(request, paper))


@require_POST
def comment(request, ref: str):
    paper = get_paper(ref)
    if not request.user.is_authenticated:
        return redirect(f"{reverse('login')}?{urlencode({'next': paper.get_absolute_url()})}")
    form = ReplyForm(request.POST)
    if not form.is_valid():
        return paper_page(request, paper.ref, form=form)
    try:
        posted = comments.post(
            request.user, paper, form.cleaned_data["body"], form.cleaned_data["parent"]
        )
    except comments.CommentRefused as e:
        return paper_page(request, paper.ref, error=str(e))
    except limits.RateLimited as e:
        return limits.too_many_page(request, str(e), e.retry_after)
    messages.success(request, "Reply posted." if posted.parent_id else "Comment posted.")
    return redirect(f"{paper.get_absolute_url()}#c-{posted.pk}")


@require_POST
def edit_links(request, ref: str):
    """A confirmed author corrects the paper's code and project links."""
    paper = get_paper(ref)
    if not is_claimed_author(request.user, paper):
        raise PermissionDenied("Only a confirmed author of this paper may edit its links.")
    form = PaperLinksForm(request.POST)
    if not form.is_valid():
        return paper_page(request, paper.ref, links_form=form)
    paper.github_repo = form.cleaned_data["github_repo"]
    paper.project_url = form.cleaned_data["project_url"]
    paper.save(update_fields=["github_repo", "project_url", "modified"])
    messages.success(request, "Links saved.")
    return redirect(paper)
