"""The one search call the API and the feeds make (both sit above the search app), the
filters their paper lists share with it, and the keyword matching of paper filters.

`search_papers` runs `broadsheet.search.search` (hybrid lexical + semantic) and gives back
the papers the engine loaded, so that callers need not read them again.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from django.utils import timezone

from broadsheet.papers.models import Paper
from broadsheet.search import search
from broadsheet.search.backends import get_backend
from broadsheet.search.query import MAX_QUERY, Term, words_of
from broadsheet.search.query import cost_error as engine_cost_error
from broadsheet.search.results import Filters


@dataclass(frozen=True)
class Found:
    paper: Paper
    # HTML-safe text with <mark> around matched words, when the engine gives them.
    title_html: str | None = None
    snippet_html: str | None = None


@dataclass(frozen=True)
class Results:
    hits: list[Found]
    total: int  # at least offset + len(hits); the engine's estimate


def cost_error(query: str) -> str | None:
    """Why an API refuses `query` (past a bound of one query's cost), or None. The search
    page runs such a query cut to the bounds, with a notice; an API client gets a 400."""
    return engine_cost_error(query.replace("\x00", "")[:MAX_QUERY])


# Bounds at the calendar's ends are no bounds, and converting them to times overflows.
_NO_BOUND_BEFORE = dt.date(1, 1, 3)
_NO_BOUND_AFTER = dt.date(9999, 12, 29)


def published_between(papers, after: dt.date | None, before: dt.date | None, field: str = ""):
    """Papers published on or after `after` and on or before `before` (days in the site's
    time zone; either may be None)."""

    def start_of(day: dt.date) -> dt.datetime:
        return timezone.make_aware(dt.datetime.combine(day, dt.time.min))

    if after and _NO_BOUND_BEFORE < after < _NO_BOUND_AFTER:
        papers = papers.filter(**{f"{field}published_at__gte": start_of(after)})
    if before and _NO_BOUND_BEFORE < before < _NO_BOUND_AFTER:
        next_day = before + dt.timedelta(days=1)
        papers = papers.filter(**{f"{field}published_at__lt": start_of(next_day)})
    return papers


def search_papers(
    query: str,
    *,
    limit: int = 20,
    offset: int = 0,
    category: str | None = None,
    after: dt.date | None = None,
    before: dt.date | None = None,
) -> Results:
    """Visible papers matching `query` (cut to MAX_QUERY characters), best first."""
    query = query.replace("\x00", "")[:MAX_QUERY].strip()
    if not query:
        return Results([], 0)
    filters = Filters(after=after, before=before, category=category or None)
    result = search(query, filters, limit, offset)
    hits = [Found(h.paper, h.title_html, h.snippet_html) for h in result.hits]
    return Results(hits, max(result.total, offset + len(hits)))


def keyword_matches(ids: Sequence[int], include: Sequence[str], exclude: Sequence[str]) -> set[int]:
    """Of the papers `ids`, those that mention at least one `include` keyword (any paper,
    when there is none) and no `exclude` keyword, as search matches words: the papers
    filters' keyword matcher (papers/filters.py). A keyword of several words is a phrase."""

    def terms(keywords: Sequence[str]) -> list[Term]:
        return [Term(k, phrase=len(words_of(k)) > 1) for k in keywords if words_of(k)]

    wanted = terms(include)
    if include and not wanted:
        return set()
    backend = get_backend()
    with backend.pinned():
        return backend.matching(ids, [wanted] if wanted else [], terms(exclude))
