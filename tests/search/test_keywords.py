"""Keywords: candidate phrases, MMR, the `keywords` command over the embedded sample, and where
they show (paper page and cards as search links, both APIs)."""

from __future__ import annotations

import io

import numpy as np
import pytest
from django.core.management import call_command
from django.test import Client
from factories import make_paper

from broadsheet.papers.models import Paper
from broadsheet.search.keywords import candidates, keyword_missing, mmr

SAE = "Interpreting Attention Layer Outputs with Sparse Autoencoders"


def test_candidates_are_short_runs_without_stop_words_or_math():
    found = candidates(
        "Sparse Autoencoders for LLM Interpretability",
        "We propose a novel method: sparse autoencoders with $\\ell_1$ penalties on GPT-2 "
        "activations, and we show that sparse autoencoders find features.",
    )
    # Twice in the abstract and in the title: among the first.
    assert {"sparse autoencoders", "sparse", "autoencoders"} == set(found[:3])
    assert "LLM interpretability" in found and "GPT-2 activations" in found
    assert all(len(p.split()) <= 3 for p in found)
    words = {w.lower() for p in found for w in p.split()}
    assert not words & {"we", "propose", "novel", "method", "the", "with", "and"}
    assert not any("ell" in p for p in found)


def test_mmr_prefers_close_phrases_that_differ_from_each_other():
    doc = np.array([1.0, 0.0, 0.0])
    phrases = ["a", "a again", "b", "far"]
    vectors = np.array([[0.9, 0.43, 0.0], [0.9, 0.43, 0.01], [0.8, -0.6, 0.0], [0.0, 0.0, 1.0]])
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    assert mmr(doc, phrases, vectors, k=2) == ["a", "b"]
    assert mmr(doc, [], np.zeros((0, 3))) == []


def test_keywords_command_fills_missing_keywords_once(sample, cached_embed, monkeypatch):
    # A few papers are enough to check the job; the phrases go through the real model.
    todo = Paper.objects.filter(title__in=[SAE, "Causal Inference by String Diagram Surgery"])
    Paper.objects.exclude(pk__in=todo).update(ai_keywords=[])
    todo.update(ai_keywords=None)  # the sample ships keywords: these two have none yet
    monkeypatch.setattr("broadsheet.search.keywords.embed_texts", lambda t, **k: cached_embed(t))
    out = io.StringIO()
    call_command("keywords", stdout=out)
    assert "Keywords: 2 papers given keywords (10 phrases)." in out.getvalue()
    sae = Paper.objects.get(title=SAE)
    assert len(sae.ai_keywords) == 5
    assert any("sparse autoencoder" in k.lower() for k in sae.ai_keywords), sae.ai_keywords
    assert keyword_missing().papers == 0  # nothing left to do

    page = Client().get(sae.get_absolute_url()).content.decode()
    first = sae.ai_keywords[0]
    assert f'href="/search?q={first.replace(" ", "%20")}"' in page
    home = Client().get("/").content.decode()
    assert 'class="chip"' in home

    hf = Client().get(f"/api/papers/{sae.ref}").json()
    assert hf["ai_keywords"] == sae.ai_keywords
    v1 = Client().get(f"/api/v1/papers/{sae.ref}").json()
    assert v1["aiKeywords"] == sae.ai_keywords


def test_keyword_runs_report_each_batch_to_their_caller(sample, cached_embed, monkeypatch):
    monkeypatch.setattr("broadsheet.search.keywords.BATCH", 2)
    Paper.objects.update(ai_keywords=[])
    Paper.objects.filter(pk__in=Paper.objects.order_by("pk").values("pk")[:3]).update(
        ai_keywords=None
    )
    batches: list[int] = []

    counts = keyword_missing(embed=cached_embed, on_batch=batches.append)

    assert (counts.papers, batches) == (3, [2, 1])


@pytest.mark.django_db
def test_papers_without_keywords_show_none():
    paper = make_paper("Nothing yet")
    assert 'class="keywords"' not in Client().get(paper.get_absolute_url()).content.decode()
    assert Client().get(f"/api/v1/papers/{paper.ref}").json()["aiKeywords"] == []
    assert "ai_keywords" not in Client().get(f"/api/papers/{paper.ref}").json()


def test_the_hugging_face_client_reads_the_keywords(live_server, transactional_db, monkeypatch):
    from huggingface_hub import HfApi
    from huggingface_hub.utils import close_session

    monkeypatch.setenv("HF_HUB_DISABLE_IMPLICIT_TOKEN", "1")
    make_paper("Keyworded", arxiv_id="2606.07777", ai_keywords=["sparse autoencoders", "LLM"])
    try:
        info = HfApi(endpoint=live_server.url, token=False).paper_info("2606.07777")
    finally:
        close_session()
    assert info.ai_keywords == ["sparse autoencoders", "LLM"]
