"""search() and related(): candidate lists from the backend, fused by reciprocal rank.

1. parse the query (our syntax; filters from it narrow the form's filters)
2. pins: an arXiv id, DOI or slug typed as the whole query; later an exact title
3. lexical list (BM25 in tantivy / ts_rank_cd) and semantic list (nearest vectors), both
   filtered
4. nothing (or almost nothing) lexical? spelling correction against the papers' words
   (spelling.py), the same on both databases
5. reciprocal-rank fusion, k = 60: score = sum over lists of 1 / (60 + rank)
"""

from __future__ import annotations

import logging
import os
import re
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace

import numpy as np
from django.conf import settings
from django.db import connection

from broadsheet.papers.models import Paper
from broadsheet.search import highlight, spelling
from broadsheet.search.backends import get_backend
from broadsheet.search.backends.protocol import Ranked, SearchBackend
from broadsheet.search.query import Query, Term, parse, words_of
from broadsheet.search.results import (
    ABSTRACT,
    AUTHOR,
    FUZZY,
    ID,
    MEANING,
    TITLE,
    Filters,
    Hit,
    SearchResult,
)

log = logging.getLogger("broadsheet.search")

RRF_K = 60
MIN_DEPTH = 100  # candidates taken from each list, at least
MAX_DEPTH = 1000  # and at most: results past this rank are not worth paging to
COUNT_CAP = 10_000
# Below this cosine similarity a neighbour is noise, not a match (MiniLM puts unrelated
# abstracts at about 0.0-0.2).
MIN_SIMILARITY = 0.25
MAX_LIMIT = 200
# Fewer lexical hits than this, and a typed word that looks misspelt (spelling.py): the
# corrected query is searched too, and shown if it finds more.
FEW = 3

_ARXIV = re.compile(
    r"(?:arxiv:\s*|https?://(?:www\.|export\.)?arxiv\.org/(?:abs|pdf)/)?"
    r"([0-9]{4}\.[0-9]{4,5}|[a-z][a-z\-]*(?:\.[A-Z]{2})?/[0-9]{7})(?:v[0-9]+)?(?:\.pdf)?",
    re.IGNORECASE,
)
_DOI = re.compile(r"(?:doi:\s*|https?://(?:dx\.)?doi\.org/)?(10\.[0-9]{4,9}/\S+)", re.IGNORECASE)
_SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)+")
# Query embeddings run in these threads, beside the lexical search: a few, so concurrent
# requests of one worker process each get one (onnxruntime sessions are thread-safe). Made
# per process: threads do not survive a fork (a server that imports, then forks workers).
_embedding_pool: tuple[int, ThreadPoolExecutor] | None = None


def _pool() -> ThreadPoolExecutor:
    global _embedding_pool
    if _embedding_pool is None or _embedding_pool[0] != os.getpid():
        _embedding_pool = (os.getpid(), ThreadPoolExecutor(4, thread_name_prefix="embed"))
    return _embedding_pool[1]


def semantic_enabled() -> bool:
    return getattr(settings, "SEARCH_SEMANTIC", True)


def _normal_title(text: str) -> str:
    return " ".join(words_of(text))


def pinned_ids(text: str) -> list[int]:
    """Papers named exactly by the whole query: arXiv id (any version, abs/pdf link), DOI,
    or slug. Hidden papers are never pinned."""
    text = text.strip()
    visible = Paper.objects.visible()
    if m := _ARXIV.fullmatch(text):
        ids = list(visible.filter(arxiv_id=m[1]).values_list("id", flat=True))
        if not ids and m[1] != m[1].lower():
            ids = list(visible.filter(arxiv_id=m[1].lower()).values_list("id", flat=True))
        if ids:
            return ids
    if m := _DOI.fullmatch(text):
        # DOIs are case-insensitive; stored ones are mostly all-lower or all-upper, and an
        # indexed IN beats a scan with UPPER().
        doi = m[1]
        spellings = {doi, doi.lower(), doi.upper()}
        return list(visible.filter(doi__in=spellings).values_list("id", flat=True))
    if len(text) <= 120 and _SLUG.fullmatch(text):
        return list(visible.filter(slug=text).values_list("id", flat=True))
    return []


def fuse(lists: list[Ranked]) -> dict[int, float]:
    scores: dict[int, float] = {}
    for ranked in lists:
        for rank, (pid, _) in enumerate(ranked, start=1):
            scores[pid] = scores.get(pid, 0.0) + 1.0 / (RRF_K + rank)
    return scores


def _embedding(query: Query, backend: SearchBackend, filters: Filters, depth: int) -> Future | None:
    """The query's vector and the backend's nearest-neighbour search for it (the embedded
    engine's IVF file), computed in a thread while the lexical search runs (onnxruntime, faiss and
    tantivy release the GIL); None when there is nothing to embed."""
    text = query.meaning_text
    if not text or not semantic_enabled() or not backend.has_vectors():
        return None
    from broadsheet.search.embedder import embed_query, queries_comparable_with

    model = backend.vector_model()
    if not queries_comparable_with(model):
        log.warning("the search vectors are from %s; run `broadsheet embed --reembed`", model)
        return None

    nearest = backend.nearest_job(filters, depth)

    def embed_and_search() -> tuple[np.ndarray, object]:
        vector = embed_query(text)
        return vector, nearest(vector) if nearest is not None else None

    return _pool().submit(embed_and_search)


def _semantic(backend: SearchBackend, query: Query, filters: Filters, depth: int,
              embedding: Future | None) -> Ranked:  # fmt: skip
    if embedding is None:
        return []
    try:
        vector, nearest = embedding.result()
    except Exception:  # a broken model install must not take lexical search down with it
        log.exception("query embedding failed; searching by words only")
        return []
    hits = backend.semantic(vector, filters, depth, nearest=nearest)
    hits = [h for h in hits if h[1] >= MIN_SIMILARITY]
    if hits and (query.strict or query.excluded):
        keep = backend.matching([h[0] for h in hits], query.strict, query.excluded)
        hits = [h for h in hits if h[0] in keep]
    return hits


def search(
    query: str, filters: Filters | None = None, limit: int = 20, offset: int = 0
) -> SearchResult:
    backend = get_backend()
    with backend.pinned():  # one state of the indexes for the whole search
        return _search(backend, query, filters, limit, offset)


def _search(
    backend: SearchBackend, query: str, filters: Filters | None, limit: int, offset: int
) -> SearchResult:
    limit = max(1, min(int(limit), MAX_LIMIT))
    offset = max(0, int(offset))
    parsed = parse(query)
    filters = (filters or Filters()).merged(parsed.filters)
    result = SearchResult(query=parsed.text, hits=[], total=0, offset=offset, limit=limit,
                          notices=list(parsed.notices))  # fmt: skip
    if offset >= MAX_DEPTH:
        return result
    depth = min(max(MIN_DEPTH, offset + limit), MAX_DEPTH)
    # Started first, so that the embedding thread works while this one looks up pins.
    embedding = _embedding(parsed, backend, filters, depth)
    pins = pinned_ids(parsed.text) if parsed.text else []

    if not parsed.positive:
        if filters:  # filters alone (cat:cs.LG after:2024): the newest matching papers
            browse = backend.browse(filters, depth)
            result.total = backend.browse_count(filters, COUNT_CAP)
            order = [pid for pid, _ in browse]
            return _page(backend, result, order, {}, parsed, set(), set(), pins)
        if parsed.excluded:
            result.notices.append("Add a word to search for; excluding alone finds nothing.")
        if not pins:
            return result

    lexical, lexical_total = backend.lexical_counted(parsed, filters, depth, COUNT_CAP)
    semantic = _semantic(backend, parsed, filters, depth, embedding)
    fuzzy_ids: set[int] = set()
    words_query = parsed
    if len(lexical) < FEW and parsed.plain_words:
        fixes = spelling.corrections(parsed.plain_words, matched=bool(lexical))
        if fixes:
            corrected = parsed.with_words_replaced(fixes)
            found, found_total = backend.lexical_counted(corrected, filters, depth, COUNT_CAP)
            if len(found) > len(lexical):
                text = corrected.meaning_text
                result.corrected = text
                first = "No exact matches; showing" if not lexical else "Showing"
                result.notices.append(f"{first} results for “{text}”.")
                # The few exact matches (of a rare spelling) follow the corrected ones.
                seen = {pid for pid, _ in found}
                lexical = found + [h for h in lexical if h[0] not in seen][: depth - len(found)]
                lexical_total = found_total
                fuzzy_ids = seen
                # Both spellings are marked in the hits.
                words_query = replace(corrected, clauses=corrected.clauses + parsed.clauses)

    # An exact title among the best lexical matches is pinned too.
    wanted = _normal_title(parsed.text)
    if wanted and lexical:
        top = [pid for pid, _ in lexical[:20]]
        # Raw SQL: the ORM's query building cost more than this indexed read.
        among, params = backend.id_filter(top)
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT id, title FROM papers_paper WHERE id {among}", params)
            titles = cursor.fetchall()
        for pid, title in titles:
            if _normal_title(title) == wanted and pid not in pins:
                pins.append(pid)

    scores = fuse([lexical, semantic])
    order = sorted(scores, key=lambda pid: (-scores[pid], pid))
    if len(lexical) >= depth:
        # An estimate beyond the first page (counting every match of common words would
        # cost more than the search itself).
        result.total = lexical_total + len(set(order) - {pid for pid, _ in lexical})
    else:
        result.total = len(order)
    meaning_ids = {pid for pid, _ in semantic}
    return _page(backend, result, order, scores, words_query, meaning_ids, fuzzy_ids, pins)


def _page(
    backend: SearchBackend,
    result: SearchResult,
    order: list[int],
    scores: dict[int, float],
    query: Query,
    meaning_ids: set[int],
    fuzzy_ids: set[int],
    pins: list[int],
) -> SearchResult:
    pinned = [pid for pid in dict.fromkeys(pins)]
    order = pinned + [pid for pid in order if pid not in set(pinned)]
    result.total = max(result.total, len(order))
    page_ids = order[result.offset : result.offset + result.limit]
    # A raw query with the authors as an extra column: select_related + defer +
    # in_bulk spent ~2.5 ms building the query and the related objects, more than the read.
    among, params = backend.id_filter(page_ids)
    papers = {
        paper.pk: paper
        for paper in Paper.objects.raw(
            "SELECT p.*, d.authors AS search_authors FROM papers_paper p "
            "LEFT JOIN search_document d ON d.paper_id = p.id "
            f"WHERE p.id {among} AND p.hidden = %s",
            [*params, False],
        )
    }
    pattern = highlight.word_pattern(query.highlight_words)
    for pid in page_ids:
        paper = papers.get(pid)
        if paper is None:  # hidden since it was indexed
            continue
        authors = paper.search_authors or ""
        # Marked text says what matched (the snippet is the abstract's window with the
        # most matches, so it holds one if the abstract does): no second regex pass.
        title_html = highlight.mark(paper.title, pattern)
        snippet_html = highlight.snippet(paper.abstract, pattern)
        why = []
        if pid in pinned:
            why.append(TITLE if _normal_title(paper.title) == _normal_title(result.query) else ID)
        if highlight.MARK in title_html and TITLE not in why:
            why.append(TITLE)
        if highlight.MARK in snippet_html:
            why.append(ABSTRACT)
        if highlight.matches(authors, pattern):
            why.append(AUTHOR)
        if pid in fuzzy_ids and not why:
            why.append(FUZZY)
        if pid in meaning_ids:
            why.append(MEANING)
        result.hits.append(
            Hit(
                paper=paper,
                score=scores.get(pid, 1.0),
                title_html=title_html,
                snippet_html=snippet_html,
                why=why,
                pinned=pid in pinned,
                authors=authors,
            )
        )
    return result


def related(paper: Paper, k: int = 5) -> list[Paper]:
    """Papers nearest in meaning to `paper` (by words of its title if it has no vector)."""
    backend = get_backend()
    with backend.pinned():
        return _related(backend, paper, k)


def _related(backend: SearchBackend, paper: Paper, k: int) -> list[Paper]:
    ranked: Ranked = []
    vector: np.ndarray | None = backend.vector_of(paper.pk) if semantic_enabled() else None
    if vector is not None and backend.has_vectors():
        ranked = backend.semantic(vector, Filters(), k + 1)
    if not ranked:
        words = [w for w in words_of(paper.title) if len(w) > 3][:12]
        if words:
            query = Query(clauses=[[Term(w) for w in words]])
            ranked = backend.lexical(query, Filters(), k + 1)
    ids = [pid for pid, _ in ranked if pid != paper.pk][:k]
    found = Paper.objects.visible().in_bulk(ids)
    return [found[pid] for pid in ids if pid in found]
