"""SQLite mode's vector file: flat when small, inverted lists when large; generations that
follow the database (adds, re-embeddings, removals) and a layout retrained as it grows."""

from __future__ import annotations

import datetime as dt
import itertools
import os
import time
from pathlib import Path

import numpy as np
import pytest
from django.db import connection
from django.utils import timezone

from broadsheet.papers.models import Paper
from broadsheet.search.backends.embedded import snapshot, vectorindex
from broadsheet.search.embedder import DIMENSIONS
from broadsheet.search.models import SearchDocument


@pytest.fixture
def sqlite_only(db):
    if connection.vendor != "sqlite":
        pytest.skip("PostgreSQL mode uses pgvector")


def clustered(count: int, seed: int = 0) -> np.ndarray:
    """Unit vectors in 20 clusters (like embeddings of papers on a few topics)."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(20, DIMENSIONS))
    vectors = centres[rng.integers(0, 20, count)] + rng.normal(0, 0.6, (count, DIMENSIONS))
    return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)


def store(vectors: np.ndarray, start: int = 0) -> list[int]:
    papers = Paper.objects.bulk_create(
        Paper(title=f"Paper {start + i}", slug=f"paper-{start + i}") for i in range(len(vectors))
    )
    now = timezone.now()
    SearchDocument.objects.bulk_create(
        SearchDocument(paper=p, embedding=v, embedded_at=now)
        for p, v in zip(papers, vectors, strict=True)
    )
    return [p.pk for p in papers]


def nearest(vector: np.ndarray, k: int) -> list[int]:
    with snapshot.pinned():
        return [pid for pid, _ in vectorindex.search(vector, k)]


def test_lists_grow_as_the_square_root_of_the_index():
    assert vectorindex.list_count(vectorindex.EXACT_BELOW - 1) == 0
    assert vectorindex.list_count(1_000_000) == 2000
    assert vectorindex.list_count(4_000_000) == 4000


def test_the_sample_is_searched_exactly(sample):
    if connection.vendor != "sqlite":
        pytest.skip("PostgreSQL mode uses pgvector")
    index, size = vectorindex.current()
    assert size == 34 and index.ntotal == 34
    assert not vectorindex._is_ivf(index)


def test_a_large_index_has_lists_and_finds_the_exact_neighbours(sqlite_only, monkeypatch):
    monkeypatch.setattr(vectorindex, "EXACT_BELOW", 100)
    vectors = clustered(900)
    ids = np.array(store(vectors))
    assert vectorindex.sync(full=True) == 900
    index, size = vectorindex.current()
    assert vectorindex._is_ivf(index) and index.nlist == 60 and size == 900
    queries = clustered(30, seed=1)
    found = 0
    for query in queries:
        exact = ids[np.argsort(-(vectors @ query))[:10]]
        found += len(set(exact.tolist()) & set(nearest(query, 10)))
    assert found / (10 * len(queries)) >= 0.9  # 16 of 60 lists probed
    # A deep search (a filter dropped the nearest) sees every vector, not NPROBE lists' worth.
    assert sorted(nearest(queries[0], 900)) == sorted(ids.tolist())


def test_sync_adds_replaces_and_removes_vectors(sqlite_only, monkeypatch):
    monkeypatch.setattr(vectorindex, "EXACT_BELOW", 100)
    vectors = clustered(600)
    ids = store(vectors)
    vectorindex.sync(full=True)
    first = vectorindex.state().filename
    # Later: a paper re-embedded (its text changed), one deleted, one un-embedded, new ones.
    moved, deleted, cleared = ids[0], ids[1], ids[2]
    new_vector = -vectors[0]
    SearchDocument.objects.filter(paper_id=moved).update(
        embedding=new_vector, embedded_at=timezone.now() + dt.timedelta(seconds=1)
    )
    Paper.objects.filter(pk=deleted).delete()
    SearchDocument.objects.filter(paper_id=cleared).update(embedding=None, embedded_at=None)
    added = store(clustered(50, seed=2), start=600)

    assert vectorindex.sync() == 600 - 2 + 50
    index, size = vectorindex.current()
    assert vectorindex.state().filename != first and vectorindex._is_ivf(index)
    assert index.nlist == 49  # incremental: the lists stay
    everything = nearest(new_vector, 1000)
    assert sorted(everything) == sorted(set(ids + added) - {deleted, cleared})
    assert everything[0] == moved  # found by its new vector, and only once


def test_an_index_that_outgrew_its_lists_is_rebuilt(sqlite_only, monkeypatch):
    monkeypatch.setattr(vectorindex, "EXACT_BELOW", 100)
    store(clustered(50))
    vectorindex.sync(full=True)
    assert not vectorindex._is_ivf(vectorindex.current()[0])  # flat below EXACT_BELOW
    store(clustered(150, seed=1), start=50)
    vectorindex.sync()
    assert vectorindex.current()[0].nlist == 28  # past EXACT_BELOW: lists
    store(clustered(700, seed=2), start=200)
    vectorindex.sync()
    assert vectorindex.current()[0].nlist == 60  # 4.5x the vectors: lists retrained


def test_a_file_of_an_older_version_is_replaced_not_read(sqlite_only, sample):
    from broadsheet.search.models import VectorIndexState

    folder = vectorindex.index_dir()
    (folder / "vectors-old.usearch").write_bytes(b"a usearch graph")
    VectorIndexState.objects.filter(id=1).update(filename="vectors-old.usearch")
    assert vectorindex._latest() == (None, 0)  # searched by words until the next sync
    assert vectorindex.sync() == 34
    assert vectorindex.current()[1] == 34


def test_lists_hold_float16_codes_whose_order_needs_no_re_ranking(sqlite_only, monkeypatch):
    monkeypatch.setattr(vectorindex, "EXACT_BELOW", 100)
    vectors = clustered(900)
    ids = store(vectors)
    vectorindex.sync(full=True)
    index = vectorindex.current()[0]
    assert vectorindex._is_ivf(index) and vectorindex.precise(index)
    query = clustered(1, seed=3)[0]
    with snapshot.pinned():
        hits = vectorindex.search(query, 900)
    exact = dict(zip(ids, (vectors @ query).tolist(), strict=True))
    assert sorted(pid for pid, _ in hits) == sorted(ids)
    assert all(abs(sim - exact[pid]) < 2e-3 for pid, sim in hits)
    # In the order of the exact similarities, but for near-ties the rounding swapped.
    ranked = [exact[pid] for pid, _ in hits]
    assert all(a >= b - 4e-3 for a, b in itertools.pairwise(ranked))
    top = sorted(exact, key=lambda pid: -exact[pid])[:10]
    assert [pid for pid, _ in hits[:10]] == top


def _old_8_bit_generation(ids: list[int], vectors: np.ndarray) -> None:
    """What an older version wrote: lists of 8-bit codes (SQ8), recorded as current."""
    import faiss

    from broadsheet.search.models import VectorIndexState

    index = faiss.index_factory(DIMENSIONS, "IVF30,SQ8", faiss.METRIC_INNER_PRODUCT)
    index.by_residual = False
    index.train(vectors)
    index.add_with_ids(vectors, np.array(ids, dtype=np.int64))
    name = "vectors-old-sq8.faiss"
    faiss.write_index(index, str(vectorindex.index_dir() / name))
    VectorIndexState.objects.filter(id=1).update(filename=name, count=len(ids))


def test_an_index_of_8_bit_codes_is_re_ranked_then_replaced(sqlite_only, monkeypatch):
    from broadsheet.search.backends import get_backend
    from broadsheet.search.results import Filters

    monkeypatch.setattr(vectorindex, "EXACT_BELOW", 100)
    vectors = clustered(900)
    ids = store(vectors)
    vectorindex.sync(full=True)
    _old_8_bit_generation(ids, vectors)
    assert not vectorindex.precise(vectorindex._latest()[0])
    hidden, unembedded = ids[:2]
    Paper.objects.filter(pk=hidden).update(hidden=True)
    SearchDocument.objects.filter(pk=unembedded).update(embedded_at=None)
    query = vectors[0] + vectors[1] + vectors[2]
    query /= np.linalg.norm(query)
    exact = {pid: float(v @ query) for pid, v in zip(ids, vectors, strict=True)}
    with snapshot.pinned():
        found = get_backend().semantic(query, Filters(), 10)
    # Re-ranked by the stored vectors: exact similarities, in their order.
    assert [pid for pid, _ in found] == [p for p in sorted(exact, key=lambda p: -exact[p])
                                         if p not in (hidden, unembedded)][:10]  # fmt: skip
    assert all(abs(sim - exact[pid]) < 1e-6 for pid, sim in found)
    vectorindex.sync()  # the next sync replaces the file with float16 lists
    assert vectorindex.precise(vectorindex._latest()[0])


def test_semantic_hits_from_lists_are_visible_and_embedded(sqlite_only, monkeypatch):
    from broadsheet.search.backends import get_backend
    from broadsheet.search.results import Filters

    monkeypatch.setattr(vectorindex, "EXACT_BELOW", 100)
    vectors = clustered(900)
    ids = store(vectors)
    vectorindex.sync(full=True)
    hidden, unembedded = ids[:2]
    Paper.objects.filter(pk=hidden).update(hidden=True)
    SearchDocument.objects.filter(pk=unembedded).update(embedded_at=None)  # not synced yet
    for pid in (hidden, unembedded):
        with snapshot.pinned():
            assert nearest(vectors[ids.index(pid)], 1) == [pid]  # still in the file
            found = [p for p, _ in get_backend().semantic(vectors[ids.index(pid)], Filters(), 5)]
        assert pid not in found and len(found) == 5


def _generation(name: str) -> list[bool]:
    """Are the generation's index file and its category table on disk?"""
    path = vectorindex.index_dir() / name
    return [path.exists(), Path(str(path) + vectorindex.CATEGORIES_SUFFIX).exists()]


def test_a_generation_is_deleted_a_while_after_it_was_replaced(sqlite_only):
    """Kept KEEP_OLD_SECONDS from when the next generation was written (a worker may have
    read its name just before), whatever its own age; the current and the previous one
    always."""
    store(clustered(30))
    names = []
    for _ in range(4):
        vectorindex.sync()
        names.append(vectorindex.state().filename)
    folder = vectorindex.index_dir()
    now = time.time()

    def written(name: str, seconds_ago: float) -> None:
        for path in (folder / name, Path(str(folder / name) + vectorindex.CATEGORIES_SUFFIX)):
            os.utime(path, (now - seconds_ago, now - seconds_ago))

    assert all(_generation(n) == [True, True] for n in names)  # all replaced just now
    written(names[0], 7200)
    written(names[1], 7100)  # written long ago, but the newest until a minute ago
    written(names[2], 60)
    vectorindex.sync()
    names.append(vectorindex.state().filename)
    assert _generation(names[0]) == [False, False]
    assert all(_generation(n) == [True, True] for n in names[1:])

    # Long replaced, all of them: only the current one and the one before it stay.
    for age, name in enumerate(reversed(names[1:])):
        written(name, 10_000 + age)
    vectorindex.sync()
    assert [_generation(n)[0] for n in names] == [False, False, False, False, True]
    assert _generation(vectorindex.state().filename) == [True, True]


def test_a_worker_that_finds_its_generation_deleted_reads_the_name_again(sqlite_only, monkeypatch):
    """A worker reads the current generation's name; before it opens the file a writer
    replaces it twice over and deletes it. The worker maps the new one, no error."""
    ids = store(clustered(30))
    vectorindex.sync()
    replaced = vectorindex.state().filename
    vectorindex._cache.clear()  # a worker that has not mapped it yet
    real = vectorindex._faiss()

    class Racing:  # faiss, with another process's writer running just before the open
        raced = False

        def __getattr__(self, name: str):
            return getattr(real, name)

        def read_index(self, path: str, *flags):
            if path.endswith(replaced) and not self.raced:
                self.raced = True
                vectorindex.sync()
                monkeypatch.setattr(vectorindex, "KEEP_OLD_SECONDS", -1)
                vectorindex._cleanup(vectorindex.index_dir(), keep={vectorindex.state().filename})
                assert _generation(replaced) == [False, False]
            return real.read_index(path, *flags)

    racing = Racing()
    monkeypatch.setattr(vectorindex, "_faiss", lambda: racing)
    with snapshot.pinned():
        index, size = vectorindex.current()
        assert racing.raced and index is not None and size == 30
        assert vectorindex.category_table() is not None
    assert nearest(clustered(30)[7], 1) == [ids[7]]
