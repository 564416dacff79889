"""Each vector names its model; a change of model is re-embedded beside the served vectors
and swapped in whole, so searches never compare a query with vectors of another model."""

from __future__ import annotations

import json
import subprocess
import textwrap

import numpy as np
import pytest

from broadsheet.papers.models import Paper
from broadsheet.search import indexing
from broadsheet.search.backends import get_backend
from broadsheet.search.embedder import model_name
from broadsheet.search.engine import search
from broadsheet.search.indexing import embed_missing, index_papers, reembed
from broadsheet.search.models import SearchDocument, StagedVector
from tests.ingest.test_kill_and_resume import (  # noqa: F401
    BROADSHEET,
    migrated_site,
    run,
    target,
)

pytestmark = pytest.mark.django_db

NEW_MODEL = "all-MiniLM-L6-v2 re-embedding test variant"


@pytest.fixture
def new_model(monkeypatch, cached_embed):
    """The code now embeds papers with NEW_MODEL: the same vectors turned a little, so a
    swapped vector can be told from the old one and searches still rank alike."""
    monkeypatch.setattr(indexing, "model_name", lambda: NEW_MODEL)
    calls = []

    def embed(texts: list[str]) -> np.ndarray:
        calls.append(len(texts))
        vectors = cached_embed(texts) + 0.01
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)

    embed.calls = calls
    return embed


def served_models() -> set[str | None]:
    return set(
        SearchDocument.objects.filter(embedded_at__isnull=False).values_list(
            "model__name", flat=True
        )
    )


def hits(query: str) -> list[int]:
    return [h.paper.pk for h in search(query).hits]


def test_every_vector_names_the_model_that_made_it(sample):
    assert served_models() == {model_name()}
    assert get_backend().vector_model() == model_name()


def test_a_partial_reembed_stages_vectors_and_leaves_the_served_ones_alone(sample, new_model):
    query = "diffusion models for video generation"
    before = hits(query)
    stored = dict(SearchDocument.objects.values_list("paper_id", "embedding"))

    counts = reembed(limit=10, embed=new_model)

    assert (counts.embedded, counts.swapped) == (10, 0)
    assert counts.remaining == len(sample) - 10
    assert StagedVector.objects.count() == 10
    assert served_models() == {model_name()}
    assert get_backend().vector_model() == model_name()
    for pid, vector in SearchDocument.objects.values_list("paper_id", "embedding"):
        assert np.array_equal(vector, stored[pid])
    assert hits(query) == before


def test_a_complete_reembed_swaps_every_vector_and_the_index_at_once(sample, new_model):
    query = "diffusion models for video generation"
    before = hits(query)
    reembed(limit=10, embed=new_model)

    counts = reembed(embed=new_model)  # resumes: only what was not staged

    assert counts.embedded == len(sample) - 10
    assert counts.swapped == len(sample)
    assert StagedVector.objects.count() == 0
    assert served_models() == {NEW_MODEL}
    assert get_backend().vector_model() == NEW_MODEL
    paper = next(iter(sample.values()))
    vector = SearchDocument.objects.get(paper=paper).embedding
    expected = new_model([indexing.paper_text(paper.title, paper.abstract)])[0]
    assert np.allclose(vector, expected, atol=1e-6)
    assert hits(query)[:3] == before[:3]
    assert reembed(embed=new_model).embedded == 0  # nothing left to do


def test_a_paper_whose_text_changed_after_staging_is_embedded_again(sample, new_model):
    reembed(limit=len(sample) - 1, embed=new_model)
    paper = Paper.objects.get(pk=StagedVector.objects.order_by("paper_id").first().paper_id)
    paper.abstract = "A rewritten abstract about graph neural networks."
    paper.save()
    index_papers([paper.pk])

    reembed(embed=new_model)

    document = SearchDocument.objects.get(paper=paper)
    assert document.model.name == NEW_MODEL
    expected = new_model([indexing.paper_text(paper.title, paper.abstract)])[0]
    assert np.allclose(document.embedding, expected, atol=1e-6)


def test_while_the_served_vectors_are_of_another_model_embed_missing_reembeds(
    sample, new_model, monkeypatch
):
    monkeypatch.setattr(indexing, "REEMBED_STEP", 7)
    counts = embed_missing(embed=new_model)
    assert counts.embedded == 7  # one step, as a worker run does
    assert served_models() == {model_name()}
    while StagedVector.objects.exists() or served_models() != {NEW_MODEL}:
        embed_missing(embed=new_model)
    assert served_models() == {NEW_MODEL}


def test_vectors_of_a_model_queries_cannot_match_are_not_searched(sample, caplog):
    SearchDocument.objects.filter(embedded_at__isnull=False).update(model=None)
    from broadsheet.search.models import EmbeddingModel

    other = EmbeddingModel.objects.create(name="some-other-model v2")
    SearchDocument.objects.filter(embedded_at__isnull=False).update(model=other)
    get_backend().sync_vectors(full=True)

    result = search("diffusion models for video generation")

    assert result.hits  # the words still find papers
    assert "embed --reembed" in caplog.text


# A real `broadsheet` process killed mid-way ------------------------------------------------

SCRIPT = textwrap.dedent(
    """
    import hashlib, os, signal, sys
    import django, numpy as np
    django.setup()
    from broadsheet.search import indexing
    from broadsheet.search.backends import get_backend

    mode, name, kill_at = sys.argv[1], sys.argv[2], int(sys.argv[3])
    indexing.model_name = lambda: name
    calls = 0

    def embed(texts):
        global calls
        calls += 1
        if calls == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)  # chunks before this one are committed
        out = []
        for t in texts:
            seed = int(hashlib.sha1((name + t).encode()).hexdigest()[:8], 16)
            v = np.random.default_rng(seed).standard_normal(384).astype(np.float32)
            out.append(v / np.linalg.norm(v))
        return np.stack(out)

    if mode == "embed":
        print(indexing.embed_missing(embed=embed))
    elif mode == "reembed":
        print(indexing.reembed(embed=embed))
    else:
        from broadsheet.search.backends import change_follower, follows_changes

        if follows_changes():  # PostgreSQL's node-local indexes: this node catches up first
            change_follower().Follower().step()
        print(get_backend().vector_model())
    """
)


def test_a_reembed_killed_mid_way_resumes_and_swaps_once_complete(target, tmp_path):  # noqa: F811
    papers = 600  # three chunks of indexing.EMBED_CHUNK
    path = tmp_path / "papers.jsonl"
    with path.open("w") as out:
        for i in range(papers):
            record = {"arxiv_id": f"2402.{i:05d}", "title": f"Paper {i}", "abstract": f"On {i}.",
                      "authors": ["A. Author"], "categories": ["cs.LG"],
                      "published_at": "2024-02-01T12:00:00+00:00"}  # fmt: skip
            out.write(json.dumps(record) + "\n")
    assert run(target, "ingest", "jsonl", str(path)).returncode == 0
    script = tmp_path / "script.py"
    script.write_text(SCRIPT)

    def script_run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [BROADSHEET[0], str(script), *args], env=target.env, capture_output=True, text=True,
            timeout=120,
        )  # fmt: skip

    old, new = "all-MiniLM-L6-v2 old", "all-MiniLM-L6-v2 new"
    assert script_run("embed", old, "0").returncode == 0
    model_count = "SELECT count(*) FROM search_document d JOIN search_embedding_model m " \
        "ON m.id = d.model_id WHERE d.embedded_at IS NOT NULL AND m.name = '{}'"  # fmt: skip
    assert target.query(model_count.format(old)) == papers

    killed = script_run("reembed", new, "3")
    assert killed.returncode == -9
    # Two chunks staged; the served vectors and the index are still the old model's.
    assert target.query("SELECT count(*) FROM search_staged_vector") == 512
    assert target.query(model_count.format(old)) == papers
    assert script_run("model", new, "0").stdout.strip() == old

    finished = script_run("reembed", new, "0")
    assert finished.returncode == 0, finished.stderr
    assert "88 re-embedded" in finished.stdout  # only what the killed run had not staged
    assert target.query("SELECT count(*) FROM search_staged_vector") == 0
    assert target.query(model_count.format(new)) == papers
    assert script_run("model", new, "0").stdout.strip() == new
