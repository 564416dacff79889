"""How papers are embedded: length-sorted batches and the worker pool return, row for row,
what embedding each text alone returns."""

from __future__ import annotations

import io

import numpy as np
import pytest

from broadsheet.ops.sample import arxiv_rows
from broadsheet.search import embedder
from broadsheet.search.embed_pool import EmbedPool
from broadsheet.search.embedder import MAX_TOKENS, Embedder, batches, paper_text


@pytest.fixture(scope="module")
def texts() -> list[str]:
    """Real abstracts of mixed lengths (some past MAX_TOKENS), a title alone, an empty text."""
    rows = arxiv_rows()[:40]
    out = [paper_text(r.title, r.abstract) for r in rows[:30]]
    out += [r.title for r in rows[30:]]
    out.insert(7, "")
    out.insert(3, "sparse autoencoders")
    return out


@pytest.fixture(scope="module")
def papers_model():
    return embedder.papers_model()


@pytest.fixture(scope="module")
def one_by_one(texts, papers_model) -> np.ndarray:
    """Each text in a batch of its own: no padding, no reordering."""
    return Embedder(1, papers_model).embed(texts, batch_size=1)


def test_batches_group_similar_lengths_and_cover_every_row_once():
    ids = [[0] * n for n in (5, 300, 1, 40, 2, 299, 41, 6)]
    got = batches(ids, 3)
    assert sorted(i for b in got for i in b) == list(range(8))
    assert [[len(ids[i]) for i in b] for b in got] == [[1, 2, 5], [6, 40, 41], [299, 300]]
    assert batches(ids, 3, sort=False) == [[0, 1, 2], [3, 4, 5], [6, 7]]


def test_length_sorted_batches_return_rows_in_input_order(texts, papers_model, one_by_one):
    model = Embedder(2, papers_model)
    tokens = [len(i) for i in model.encode(texts)]
    assert max(tokens) == MAX_TOKENS and min(tokens) < 10  # truncated and short ones
    for size in (4, 16, 64):
        got = model.embed(texts, batch_size=size)
        assert got.shape == one_by_one.shape
        np.testing.assert_allclose(got, one_by_one, atol=2e-3)
        assert (np.argmax(got @ one_by_one.T, axis=1) == np.arange(len(texts))).all()
    unsorted = model.embed(texts, batch_size=16, sort=False)
    np.testing.assert_allclose(unsorted, one_by_one, atol=2e-3)
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, rtol=1e-5)


def test_the_worker_pool_embeds_as_the_process_does(texts, papers_model, one_by_one):
    with EmbedPool(2, papers_model) as pool:
        got = pool.embed(texts, batch_size=4)
        assert pool.embed([]).shape == (0, embedder.DIMENSIONS)
    np.testing.assert_allclose(got, one_by_one, atol=2e-3)
    assert (np.argmax(got @ one_by_one.T, axis=1) == np.arange(len(texts))).all()


def test_a_pool_needs_a_worker(papers_model):
    with pytest.raises(ValueError, match="at least one worker"):
        EmbedPool(0, papers_model)


@pytest.mark.django_db
def test_embed_with_workers_stores_what_one_process_stores(monkeypatch, sample, papers_model):
    """`broadsheet embed --workers 2` (the pool) stores, paper for paper, the vectors the
    in-process embedder makes of the same papers."""
    from django.core.management import call_command

    from broadsheet.search import indexing
    from broadsheet.search.backends import get_backend
    from broadsheet.search.indexing import count_missing
    from broadsheet.search.models import SearchDocument

    papers = sorted(sample.values(), key=lambda p: p.pk)
    in_process = Embedder(2, papers_model).embed([paper_text(p.title, p.abstract) for p in papers])
    SearchDocument.objects.update(embedded_at=None)
    assert count_missing() == len(papers) == 34
    monkeypatch.setattr(indexing, "POOL_MIN", 10)  # the sample is smaller than a backfill
    call_command("embed", "--workers", "2", stdout=(out := io.StringIO()))
    assert "34 embedded by 2 worker processes" in out.getvalue()
    assert count_missing() == 0
    backend = get_backend()
    for paper, vector in zip(papers, in_process, strict=True):
        np.testing.assert_allclose(backend.vector_of(paper.pk), vector, atol=1e-5)
