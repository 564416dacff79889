"""A category-filtered semantic search of the embedded engine (SQLite, and PostgreSQL with
BROADSHEET_SEARCH_ENGINE=embedded on a node's own indexes): the vector index's category
table rules out candidates outside the category, the database checks the rest, and the
results are the database's filter's all the same."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from broadsheet.papers.models import Paper
from broadsheet.search.backends import get_backend
from broadsheet.search.backends.base import text_hash
from broadsheet.search.backends.embedded import node_state, snapshot, vectorindex
from broadsheet.search.backends.embedded.backend import EmbeddedBackend
from broadsheet.search.embedder import DIMENSIONS
from broadsheet.search.indexing import index_papers, store_vectors
from broadsheet.search.results import Filters
from tests.factories import make_paper

CATEGORIES = [
    ("cs.LG", ["cs.LG", "stat.ML"]),  # stat.ML only as a secondary category
    ("stat.ML", ["stat.ML"]),
    ("stat.ME", ["stat.ME"]),
    ("cs.CL", ["cs.CL"]),
    ("math.ST", ["math.ST", "stat.TH"]),
    ("q-bio.NC", ["q-bio.NC", "cs.NE"]),
]
FILTERS = [
    Filters(category="stat.ML"),
    Filters(category="STAT.me"),
    Filters(category="cs"),
    Filters(category="stat"),
    Filters(category="q-bio"),
    Filters(category="astro-ph"),
    Filters(category="cs", after=dt.date(2025, 1, 1)),
    Filters(before=dt.date(2024, 12, 31)),
]


def unit(seed: int) -> np.ndarray:
    v = np.random.default_rng(seed).normal(size=DIMENSIONS).astype(np.float32)
    return v / np.linalg.norm(v)


QUERY = unit(0)


@pytest.fixture
def corpus(db, settings, tmp_path) -> Iterator[dict[str, int]]:
    """36 embedded papers at varied distances from QUERY (one hidden), indexed by the running
    engine: on PostgreSQL, a node built from the database."""
    papers = []
    for i in range(36):
        primary, cats = CATEGORIES[i % len(CATEGORIES)]
        published = dt.datetime(2024 + i % 2, 6, 1, tzinfo=dt.UTC)
        papers.append(
            make_paper(
                f"Paper {i}", primary_category=primary, categories=cats, published_at=published
            )  # fmt: skip
        )
    Paper.objects.filter(pk=papers[1].pk).update(hidden=True)  # a stat.ML paper
    # Written well before the index: the category table decides for them.
    Paper.objects.update(modified=dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    rng = np.random.default_rng(1)
    items = []
    for i, paper in enumerate(papers):
        v = QUERY * (1 - i / 40) + rng.normal(size=DIMENSIONS).astype(np.float32) * 0.02
        items.append((paper.pk, v / np.linalg.norm(v), text_hash(paper.title, paper.abstract)))
    index_papers([p.pk for p in papers])
    store_vectors(items, "test-model")
    by_title = {p.title: p.pk for p in papers}
    if connection.vendor == "postgresql":
        from broadsheet.search.backends.postgresql import follower

        settings.SEARCH_ENGINE = "embedded"
        with node_state.node(tmp_path / "node"):
            follower.Follower().build()
            yield by_title
    else:
        get_backend().sync_vectors()
        yield by_title


def nearest(filters: Filters, limit: int = 5) -> list[int]:
    backend = get_backend()
    assert isinstance(backend, EmbeddedBackend)
    with snapshot.pinned():
        return [pid for pid, _ in backend.semantic(QUERY, filters, limit)]


def databases_answer(filters: Filters, limit: int = 5) -> list[int]:
    """The nearest papers among those the database's filter passes, by exact similarity."""
    backend = get_backend()
    with snapshot.pinned():
        ids = list(Paper.objects.values_list("pk", flat=True))
        passing = backend._visible(ids, filters, embedded=True)
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT p.id, {backend.embedding_sql()} FROM papers_paper p "
                "JOIN search_document d ON d.paper_id = p.id"
            )
            rows = [r for r in backend.vector_rows(cursor.fetchall()) if r[0] in passing]
    sims = {pid: float(np.frombuffer(v, dtype="<f4") @ QUERY) for pid, v in rows}
    return sorted(sims, key=lambda pid: -sims[pid])[:limit]


def checked_ids(queries: list[dict]) -> set[int]:
    """The ids the database was asked about, in the semantic search's visibility check."""
    found: set[int] = set()
    for q in queries:
        for match in re.finditer(r"p\.id IN \(SELECT value FROM json_each\('\[([\d, ]*)\]'\)\)"
                                 r"|p\.id IN \(([\d, ]*)\)", q["sql"]):  # fmt: skip
            found.update(int(i) for i in (match[1] or match[2] or "").split(",") if i.strip())
    return found


def in_stat_ml() -> set[int]:
    return {p.pk for p in Paper.objects.all() if "stat.ML" in p.categories}


def test_filtered_results_are_the_database_filters(corpus):
    for filters in FILTERS:
        expected = databases_answer(filters)
        assert nearest(filters) == expected, filters
        assert len(expected) == (0 if filters.category == "astro-ph" else 5)
    assert corpus["Paper 1"] not in nearest(Filters(category="stat.ML"), 36)  # hidden


def test_the_database_is_asked_only_about_candidates_in_the_category(corpus):
    with CaptureQueriesContext(connection) as queries:
        found = nearest(Filters(category="stat.ML"))
    asked = checked_ids(queries.captured_queries)
    assert set(found) <= asked <= in_stat_ml()
    assert corpus["Paper 1"] in asked  # hidden: the database decides


def test_papers_changed_since_the_table_are_left_to_the_database(corpus):
    paper = Paper.objects.get(pk=corpus["Paper 2"])  # stat.ME, near the query
    paper.primary_category, paper.categories = "stat.ML", ["stat.ML"]
    paper.save()  # stamps `modified`, as every write of the ingest does
    for category in ("stat.ML", "stat.ME"):
        filters = Filters(category=category)
        assert nearest(filters) == databases_answer(filters), category
    assert paper.pk in nearest(Filters(category="stat.ML"))


def test_a_generation_without_a_category_table_is_checked_by_the_database(corpus):
    """As one written by an older version: every candidate goes to the database."""
    index, _ = vectorindex.current()
    path = vectorindex.index_dir() / vectorindex.state().filename
    Path(str(path) + vectorindex.CATEGORIES_SUFFIX).unlink()
    vectorindex._cache.clear()  # a worker opening the generation afresh
    assert vectorindex.category_table() is None
    for filters in FILTERS:
        assert nearest(filters) == databases_answer(filters), filters
    with CaptureQueriesContext(connection) as queries:
        nearest(Filters(category="stat.ML"))
    asked = checked_ids(queries.captured_queries)
    assert corpus["Paper 1"] in asked and not asked <= in_stat_ml()


def test_the_category_table_holds_categories_and_archives(corpus):
    table = vectorindex.category_table()
    assert table is not None
    ids = np.array([corpus[f"Paper {i}"] for i in range(12)] + [10**9])  # one it does not hold

    def outside(category: str) -> set[int]:
        return {int(i) for i in np.flatnonzero(table.outside(ids, category))}

    # Papers 0 and 6 hold stat.ML as a secondary category; 5 and 11 cs.NE as one.
    assert outside("stat.ML") == {2, 3, 4, 5, 8, 9, 10, 11}
    assert outside("STAT.ml") == outside("stat.ML")
    assert outside("cs") == {1, 2, 4, 7, 8, 10}
    assert outside("stat") == {3, 5, 9, 11}
    assert outside("stat.TH") == set(range(12)) - {4, 10}
    assert outside("astro-ph") == set(range(12))


def test_a_new_generation_has_a_table_read_afresh_or_carried_over(corpus):
    """`broadsheet embed` (SQLite) reads every paper's categories again; a node's follower
    carries the table over for a while, papers changed since being left to the database."""
    before = vectorindex.category_table()
    paper = Paper.objects.get(pk=corpus["Paper 2"])
    paper.primary_category, paper.categories = "stat.ML", ["stat.ML"]
    paper.save()
    if connection.vendor == "postgresql":
        vectorindex.apply([paper.pk])  # what the node's follower does for a changed paper
    else:
        vectorindex.sync()
    after = vectorindex.category_table()
    assert after is not None and after is not before
    moved = not after.outside(np.array([paper.pk]), "stat.ML")[0]
    assert moved == (connection.vendor == "sqlite")
    assert (after.as_of == before.as_of) == (connection.vendor == "postgresql")
    for category in ("stat.ML", "stat.ME"):
        assert nearest(Filters(category=category)) == databases_answer(Filters(category=category))
    assert paper.pk in nearest(Filters(category="stat.ML"))


def test_a_damaged_category_table_is_ignored(corpus):
    path = vectorindex.index_dir() / vectorindex.state().filename
    Path(str(path) + vectorindex.CATEGORIES_SUFFIX).write_bytes(b"PK\x03\x04 not a table")
    vectorindex._cache.clear()  # a worker opening the generation afresh
    assert vectorindex.category_table() is None
    assert nearest(Filters(category="stat.ML")) == databases_answer(Filters(category="stat.ML"))
