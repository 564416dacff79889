"""/api/v1/papers, /api/v1/search and votes."""

from __future__ import annotations

from django.db.models import F
from django.http import HttpRequest, HttpResponse
from ninja import Query, Router

from broadsheet.api.callers import ApiError
from broadsheet.api.v1.auth import READ, WRITE
from broadsheet.api.v1.pagination import link_header
from broadsheet.api.v1.params import PaperFilters, RelatedParams, SearchParams
from broadsheet.api.v1.schemas import ErrorOut, PaperOut, PaperPage, SearchPage, VoteOut
from broadsheet.api.v1.serialise import paper_out
from broadsheet.api.v1.since import newest, page_since
from broadsheet.papers import votes
from broadsheet.papers.filters import category_q
from broadsheet.papers.loaders import get_paper, papers_for_output, with_output_relations
from broadsheet.search import related as related_to
from broadsheet.search.papers_search import (
    cost_error,
    published_between,
    search_papers,
)

router = Router(tags=["papers"])

ERRORS = {400: ErrorOut, 401: ErrorOut, 404: ErrorOut, 429: ErrorOut}
WRITE_ERRORS = ERRORS | {403: ErrorOut}


def _paper_or_404(ref: str):
    paper = get_paper(ref)
    if paper is None:
        raise ApiError("Paper not found.", 404)
    return paper


@router.get("/papers", response={200: PaperPage, **ERRORS}, auth=READ)
def list_papers(request: HttpRequest, response: HttpResponse, filters: Query[PaperFilters]):
    """Papers in the corpus, newest first; with `since`, those added or changed after it,
    oldest change first."""
    papers = papers_for_output()
    if filters.category:
        papers = papers.filter(category_q(filters.category))
    papers = published_between(papers, filters.after, filters.before)
    if filters.listed is not None:
        papers = papers.filter(listing__isnull=not filters.listed)
        if filters.listed:
            papers = papers.filter(listing__hidden=False)
    if filters.since is not None:
        page, total, following = page_since(request, response, papers, "modified", filters)
        return {
            "items": [paper_out(request, p) for p in page],
            "total": total,
            "limit": filters.limit,
            "offset": 0,
            "nextSince": following,
        }
    total = papers.count()
    start, limit = filters.offset, filters.limit
    page = papers.order_by(F("published_at").desc(nulls_last=True), "-id")[start : start + limit]
    link_header(request, response, total=total, limit=limit, offset=start)
    return {
        "items": [paper_out(request, p) for p in page],
        "total": total,
        "limit": limit,
        "offset": start,
        "nextSince": newest(papers, "modified"),
    }


@router.get("/search", response={200: SearchPage, **ERRORS}, auth=READ)
def search(request: HttpRequest, response: HttpResponse, params: Query[SearchParams]):
    """Search the corpus (hybrid lexical + semantic when the search app is installed).

    A query past the bounds of one query's cost (too many words, OR alternatives or
    `author:` filters) is refused with a 400 that names the bound."""
    if problem := cost_error(params.q):
        raise ApiError(problem)
    results = search_papers(
        params.q,
        limit=params.limit,
        offset=params.offset,
        category=params.category,
        after=params.after,
        before=params.before,
    )
    hits = results.hits
    with_output_relations([h.paper for h in hits])  # the papers as the engine loaded them
    link_header(request, response, total=results.total, limit=params.limit, offset=params.offset)
    return {
        "query": params.q,
        "items": [
            {
                "paper": paper_out(request, h.paper),
                "titleHtml": h.title_html,
                "snippetHtml": h.snippet_html,
            }
            for h in hits
        ],
        "total": results.total,
        "limit": params.limit,
        "offset": params.offset,
    }


def _vote(request: HttpRequest, ref: str, add: bool) -> dict:
    paper = _paper_or_404(ref)
    user = request.auth.user
    try:
        votes.check_vote_rate(user)
    except votes.RateLimited:
        raise ApiError(
            "You are voting too fast. Wait a minute and try again.", 429, {"Retry-After": "60"}
        ) from None
    result = votes.add_upvote(user, paper) if add else votes.remove_upvote(user, paper)
    return {"upvoted": result.upvoted, "votes": result.votes}


# Registered before GET /papers/{ref}: a path parameter may hold slashes (hep-th/9901001).
@router.post("/papers/{path:ref}/upvote", response={200: VoteOut, **WRITE_ERRORS}, auth=WRITE)
def upvote(request: HttpRequest, ref: str):
    """Upvote a paper (a second upvote changes nothing)."""
    return _vote(request, ref, add=True)


@router.delete("/papers/{path:ref}/upvote", response={200: VoteOut, **WRITE_ERRORS}, auth=WRITE)
def remove_upvote(request: HttpRequest, ref: str):
    """Withdraw your upvote (withdrawing none changes nothing)."""
    return _vote(request, ref, add=False)


@router.get("/papers/{path:ref}/related", response={200: list[PaperOut], **ERRORS}, auth=READ)
def related(request: HttpRequest, ref: str, params: Query[RelatedParams]):
    """Papers like this one (nearest abstracts)."""
    paper = _paper_or_404(ref)
    related = with_output_relations(related_to(paper, k=params.limit))
    return [paper_out(request, p) for p in related]


@router.get("/papers/{path:ref}", response={200: PaperOut, **ERRORS}, auth=READ)
def get_paper_view(request: HttpRequest, ref: str):
    """A paper by arXiv id (with or without version) or slug."""
    return paper_out(request, _paper_or_404(ref))
