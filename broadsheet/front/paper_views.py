"""A paper's page, its BibTeX, and the actions on it (upvote, comment)."""

from __future__ import annotations

import re
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from broadsheet.front.bibtex import paper_bibtex
from broadsheet.front.forms import CommentForm
from broadsheet.papers.models import Comment, Paper, Upvote
from broadsheet.papers.votes import RateLimited, toggle_upvote
from broadsheet.search.context import related_papers

_VERSIONED = re.compile(r"(.+)v\d+")
MAX_REF = 200


def get_paper(ref: str) -> Paper:
    # PostgreSQL refuses NUL in text parameters (a 500); no id or slug holds one anyway.
    if len(ref) > MAX_REF or "\x00" in ref:
        raise Http404("No such paper")
    papers = Paper.objects.visible().prefetch_related("authorships__author")
    paper = papers.by_ref(ref).first()
    if paper is None and (m := _VERSIONED.fullmatch(ref)):
        paper = papers.filter(arxiv_id=m[1]).first()
    if paper is None:
        raise Http404("No such paper")
    return paper


def paper_page(request, ref: str, form: CommentForm | None = None):
    paper = get_paper(ref)
    if ref != paper.ref:
        return redirect(paper)
    listing = getattr(paper, "listing", None)
    if listing is not None and listing.hidden:
        listing = None
    context = {
        "paper": paper,
        "listing": listing,
        "comments": paper.comments.filter(hidden=False).select_related("user"),
        "form": form or CommentForm(),
        "voted": request.user.is_authenticated
        and Upvote.objects.filter(user=request.user, paper=paper).exists(),
        "comment_max": settings.COMMENT_MAX_LENGTH,
    }
    context.update(related_papers(paper))
    from broadsheet.front.collection_views import cards_context  # it imports this module

    context.update(cards_context(request.user, [paper]))
    return render(request, "front/paper.html", context, status=400 if form and form.errors else 200)


def paper_bib(request, ref: str):
    paper = get_paper(ref)
    response = HttpResponse(paper_bibtex(paper), content_type="application/x-bibtex; charset=utf-8")
    response["Content-Disposition"] = f'inline; filename="{paper.slug}.bib"'
    return response


def _wants_json(request) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def _back(request, paper: Paper) -> str:
    """Where to return after a form POST: the page it came from, if it is ours."""
    target = request.POST.get("next") or request.headers.get("Referer", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return paper.get_absolute_url()


@require_POST
def upvote(request, ref: str):
    paper = get_paper(ref)
    if not request.user.is_authenticated:
        login = f"{reverse('login')}?{urlencode({'next': _back(request, paper)})}"
        if _wants_json(request):
            return JsonResponse({"error": "Log in to vote.", "login_url": login}, status=401)
        return redirect(login)
    try:
        result = toggle_upvote(request.user, paper)
    except RateLimited:
        message = "You are voting too fast. Wait a minute and try again."
        if _wants_json(request):
            response = JsonResponse({"error": message}, status=429)
        else:
            response = HttpResponse(message, status=429, content_type="text/plain")
        response["Retry-After"] = "60"
        return response
    if _wants_json(request):
        return JsonResponse({"upvoted": result.upvoted, "votes": result.votes})
    return redirect(_back(request, paper))


@require_POST
def comment(request, ref: str):
    paper = get_paper(ref)
    if not request.user.is_authenticated:
        return redirect(f"{reverse('login')}?{urlencode({'next': paper.get_absolute_url()})}")
    form = CommentForm(request.POST)
    if not form.is_valid():
        return paper_page(request, paper.ref, form=form)
    Comment.objects.create(user=request.user, paper=paper, body=form.cleaned_data["body"])
    messages.success(request, "Comment posted.")
    return redirect(f"{paper.get_absolute_url()}#comments")
