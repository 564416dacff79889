"""Hybrid search over the papers: `search(query, filters, limit, offset)` and `related(paper)`.

Lexical (tantivy on SQLite, weighted tsvector on PostgreSQL) and semantic (MiniLM vectors in a
faiss file on SQLite, pgvector HNSW on PostgreSQL) candidate lists, fused by reciprocal rank.
See docs/search.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from broadsheet.papers.models import Paper
    from broadsheet.search.results import Filters, SearchResult


def search(
    query: str,
    filters: Filters | None = None,
    limit: int = 20,
    offset: int = 0,
) -> SearchResult:
    """Hybrid search: the lexical and semantic candidate lists fused (docs/search.md)."""
    from broadsheet.search.engine import search as _search

    return _search(query, filters, limit=limit, offset=offset)


def related(paper: Paper, k: int = 5) -> list[Paper]:
    from broadsheet.search.engine import related as _related

    return _related(paper, k=k)


def __getattr__(name: str):
    # `from broadsheet.search import Filters` without importing models at package import time.
    if name in {"Filters", "SearchResult", "Hit"}:
        from broadsheet.search import results

        return getattr(results, name)
    raise AttributeError(name)
