"""How papers are embedded: length-sorted batches and the worker pool return, row for row,
what embedding each text alone returns."""

from __future__ import annotations

import io

import numpy as np
import pytest

from broadsheet.ops.sample import arxiv_rows
from broadsheet.search import embedder, query_model
from broadsheet.search.embed_pool import EmbedPool
from broadsheet.search.embedder import MAX_TOKENS, Embedder, batches, paper_text


@pytest.fixture(scope="module")
def texts() -> list[str]:
    """40 texts: real abstracts of mixed lengths (some past MAX_TOKENS), titles alone, a
    short query and an empty text."""
    rows = arxiv_rows()[:40]
    out = [paper_text(r.title, r.abstract) for r in rows[:30]]
    out += [r.title for r in rows[30:38]]
    out.insert(7, "")
    out.insert(3, "sparse autoencoders")
    return out


@pytest.fixture(scope="module")
def papers_model():
    return embedder.papers_model()


def test_batches_group_similar_lengths_and_cover_every_row_once():
    ids = [[0] * n for n in (5, 300, 1, 40, 2, 299, 41, 6)]
    got = batches(ids, 3)
    assert sorted(i for b in got for i in b) == list(range(8))
    assert [[len(ids[i]) for i in b] for b in got] == [[1, 2, 5], [6, 40, 41], [299, 300]]
    assert batches(ids, 3, sort=False) == [[0, 1, 2], [3, 4, 5], [6, 7]]


def test_length_sorted_batches_return_rows_in_input_order(texts):
    """With the packaged (float) model a text's vector does not depend on its batch-mates or
    their padding: sorted batches of any size give each row its own text's vector."""
    model = Embedder(2, query_model.packaged())
    texts = texts[:10] + texts[-4:]  # long and short abstracts, a query, "", titles
    tokens = [len(i) for i in model.encode(texts)]
    assert max(tokens) == MAX_TOKENS and min(tokens) < 10  # truncated and short ones
    one_by_one = model.embed(texts, batch_size=1)
    for size in (4, len(texts)):
        got = model.embed(texts, batch_size=size)
        np.testing.assert_allclose(got, one_by_one, atol=1e-5)
    np.testing.assert_allclose(model.embed(texts, 5, sort=False), one_by_one, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, rtol=1e-5)


def test_a_papers_vector_does_not_depend_on_the_order_it_comes_in(texts, papers_model):
    """The int8 model quantises a batch's activations together, so a text's vector moves a
    little with its batch-mates: one text a call (the default) makes every paper's vector
    its own; sorted batches at least do not depend on the input's order."""
    model = Embedder(2, papers_model)
    one_by_one = model.embed(texts)
    order = np.random.default_rng(1).permutation(len(texts))
    shuffled = [texts[i] for i in order]
    np.testing.assert_array_equal(model.embed(shuffled), one_by_one[order])
    batched = model.embed(texts, batch_size=8)
    np.testing.assert_allclose(model.embed(shuffled, batch_size=8), batched[order], atol=1e-6)
    cosines = (batched * one_by_one).sum(axis=1)
    assert cosines.min() > 0.95
    assert (np.argmax(batched @ one_by_one.T, axis=1) == np.arange(len(texts))).all()


def test_the_worker_pool_embeds_as_the_process_does(texts, papers_model):
    model = Embedder(2, papers_model)
    with EmbedPool(2, papers_model) as pool:
        for size in (1, 4):
            np.testing.assert_allclose(
                pool.embed(texts, batch_size=size), model.embed(texts, size), atol=1e-5
            )
        assert pool.embed([]).shape == (0, embedder.DIMENSIONS)


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
