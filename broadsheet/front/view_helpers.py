"""What several front views share: finding the paper a URL names, where to go back after a
form, whether the caller wants JSON, and what the cards' "Save" menu needs."""

from __future__ import annotations

from django.http import Http404
from django.utils.http import url_has_allowed_host_and_scheme

from broadsheet.papers import collections as rules
from broadsheet.papers.models import Paper


def get_paper(ref: str) -> Paper:
    paper = Paper.objects.visible().prefetch_related("authorships__author").find(ref)
    if paper is None:
        raise Http404("No such paper")
    return paper


def wants_json(request) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def back_to(request, paper: Paper) -> str:
    """Where to return after a form POST: the page it came from, if it is ours. Only a path
    or a URL: redirect() would look any other word up as a view name (a 500 when none)."""
    target = request.POST.get("next") or request.headers.get("Referer", "")
    if target.startswith(("/", "http://", "https://")) and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return paper.get_absolute_url()


def cards_context(user, papers) -> dict:
    """What the "Save" menu on cards needs, in one query whatever the number of cards: the
    member's collections, and which of them hold each paper (`paper.in_collections`)."""
    papers = list(papers)
    if not user.is_authenticated:
        return {}
    collections, held = rules.menu_for(user, [p.pk for p in papers])
    for paper in papers:
        paper.in_collections = held.get(paper.pk, set())
    return {"my_collections": [{"pk": pk, "name": name} for pk, name in collections]}
