"""Spelling correction against the papers' own words (runs on SQLite and PostgreSQL).

The corpus is the sample listing and the 1,000 arXiv abstracts shipped in
broadsheet/papers/data/arxiv-1000.csv; the misspellings are of words they hold.
"""

from __future__ import annotations

import csv
import io
import time
from importlib import resources

import pytest
from django.core.management import call_command

from broadsheet.papers.models import Paper
from broadsheet.papers.signals import bulk_changes
from broadsheet.search import search, spelling
from broadsheet.search.indexing import embed_missing, index_papers, reindex
from tests.factories import make_paper

# Typed word -> the word meant: dropped, doubled, swapped and wrong letters, one or two
# edits, short and long words.
MISSPELLINGS = {
    "segmantation": "segmentation",
    "atention": "attention",
    "clasification": "classification",
    "interpretabilty": "interpretability",
    "reinforcment": "reinforcement",
    "convolutinal": "convolutional",
    "tranformer": "transformer",
    "segmenation": "segmentation",
    "optimzation": "optimization",
    "embeddigns": "embeddings",
    "adversarail": "adversarial",
    "robustnes": "robustness",
    "bayseian": "bayesian",
    "probabilistc": "probabilistic",
    "recurent": "recurrent",
    "gradeint": "gradient",
    "stochastc": "stochastic",
    "autoencoers": "autoencoders",
    "languange": "language",
    "supervized": "supervised",
    "unsupervsed": "unsupervised",
    "detecton": "detection",
    "reconstrction": "reconstruction",
    "architecure": "architecture",
    "benchamrk": "benchmark",
    "pedestrain": "pedestrian",
    "retreival": "retrieval",
    "diffusoin": "diffusion",
    "knowlege": "knowledge",
    "algoritm": "algorithm",
    "hierarchcal": "hierarchical",
    "varational": "variational",
    "regularizaton": "regularization",
    "sematic": "semantic",
    "causel": "causal",
    "nueral": "neural",
    "translaton": "translation",
    "explainabilty": "explainability",
    "kernal": "kernel",
    "senitment": "sentiment",
    "lerning": "learning",
    "modle": "model",
    "grpah": "graph",
    "netowrk": "network",
    "clasifcation": "classification",
    "trasnformer": "transformer",
    "atttention": "attention",
    "recomendation": "recommendation",
    "reinforcemnet": "reinforcement",
    "lanugage": "language",
    "optimizaton": "optimization",
    "contrastve": "contrastive",
    "fedrated": "federated",
    "quantizaton": "quantization",
    "segmentaiton": "segmentation",
}


def arxiv_rows() -> list[dict]:
    text = resources.files("broadsheet.papers").joinpath("data/arxiv-1000.csv").read_text()
    return list(csv.DictReader(io.StringIO(text)))


@pytest.fixture
def corpus(db):
    """The sample listing and the 1,000 arXiv abstracts, indexed (no vectors)."""
    call_command("load-sample", "--no-arxiv", verbosity=0)
    papers = Paper.objects.bulk_create(
        Paper(title=" ".join(r["titles"].split()), abstract=r["summaries"], slug=f"arxiv-{i}")
        for i, r in enumerate(arxiv_rows())
    )
    index_papers([p.pk for p in papers])


def test_the_test_words_are_misspelt_and_the_meant_words_are_there(corpus):
    counts = spelling._counts(list(MISSPELLINGS) + list(MISSPELLINGS.values()))
    assert not [typo for typo in MISSPELLINGS if counts[typo]]
    assert not [word for word in MISSPELLINGS.values() if not counts[word]]


def test_misspellings_are_corrected(corpus):
    fixes = spelling.corrections(MISSPELLINGS)
    right = [typo for typo, word in MISSPELLINGS.items() if fixes.get(typo) == word]
    assert len(MISSPELLINGS) >= 30
    assert len(right) >= 0.9 * len(MISSPELLINGS), {
        typo: fixes.get(typo) for typo in MISSPELLINGS if typo not in right
    }


@pytest.mark.parametrize(
    "typed, meant",
    [
        ("image segmantation", "image segmentation"),
        ("atention heads", "attention heads"),
        ("clasification", "classification"),
        ("interpretabilty", "interpretability"),
    ],
)
def test_a_misspelt_search_shows_the_corrected_one(corpus, typed, meant):
    result = search(typed)
    assert result.corrected == meant
    assert result.hits and f"showing results for “{meant}”" in result.notices[-1]
    top = result.hits[0].paper
    assert meant.split()[0][:9] in f"{top.title} {top.abstract}".lower()


def test_the_search_page_says_what_it_searched_for(corpus, client):
    body = client.get("/search", {"q": "segmantation"}).content.decode()
    assert "No exact matches; showing results for “segmentation”." in body
    assert "<mark>" in body


def test_words_spelt_right_are_left_alone(corpus):
    assert spelling.corrections(["segmentation", "attention", "the", "gan", "2024"]) == {}
    result = search("attention heads")
    assert result.corrected is None and not result.notices


def test_a_rare_misspelling_in_a_paper_does_not_hide_the_word_meant(db, index):
    typo = make_paper("Atention is all you need", abstract="Atention, misspelt once.")
    right = [make_paper(f"Attention heads, part {i}") for i in range(25)]
    index(typo, *right, embed=False)
    result = search("atention", limit=50)
    assert result.corrected == "attention"
    assert result.notices == ["Showing results for “attention”."]
    found = [h.paper for h in result.hits]
    assert set(right) <= set(found) and found[-1] == typo  # the exact match still there


def test_a_word_with_no_near_neighbour_is_completed(db, index):
    paper = make_paper("Building causal models from language models")
    index(paper, embed=False)
    assert spelling.corrections(["built", "languag"]) == {
        "built": "building",
        "languag": "language",  # one letter short: a near word, not a completion
    }
    result = search("causal models built from language models")
    assert result.corrected == "causal models building from language models"
    assert [h.paper for h in result.hits] == [paper]


def test_a_rare_name_that_found_its_papers_is_left_alone(db, index):
    author = make_paper("Protein folding", authors=["Maria Atension"])
    others = [make_paper(f"Attention heads, part {i}") for i in range(25)]
    index(author, *others, embed=False)
    result = search("atension")
    assert [h.paper for h in result.hits] == [author]
    assert result.corrected is None and not result.notices


def test_the_vocabulary_follows_new_and_changed_papers(db, index):
    paper = make_paper("Holographic tensor networks")
    index(paper, embed=False)
    assert spelling.corrections(["holografic"]) == {"holografic": "holographic"}
    paper.title = "Photonic tensor networks"
    paper.save()
    index(paper, embed=False)
    assert spelling.corrections(["photonik"]) == {"photonik": "photonic"}
    # The replaced title's words stay counted until a reindex counts afresh.
    assert spelling.corrections(["holografic"]) == {"holografic": "holographic"}
    paper.delete()
    reindex()  # counts afresh: the deleted paper's words are gone
    assert spelling.corrections(["photonik", "holografic"]) == {}


def test_a_large_import_leaves_counting_to_embed(db, monkeypatch):
    monkeypatch.setattr(spelling, "COUNT_BATCH", 2)
    with bulk_changes():
        papers = [make_paper(f"Tropical geometry, part {i}") for i in range(3)]
        index_papers([p.pk for p in papers])
    assert spelling.corrections(["tropcal"]) == {}
    embed_missing(embed=lambda texts: pytest.fail("nothing to embed here"), limit=0)
    assert spelling.corrections(["tropcal"]) == {"tropcal": "tropical"}


def test_a_small_import_is_counted_when_it_ends(db):
    with bulk_changes():
        paper = make_paper("Tropical geometry of neural networks")
        index_papers([paper.pk])
        assert spelling.corrections(["tropcal"]) == {}
    assert spelling.corrections(["tropcal"]) == {"tropcal": "tropical"}


def test_a_corrected_query_keeps_the_other_words_as_typed(sample, words_only):
    result = search("causal models built from LLMs")
    assert result.corrected == "causal models building from LLMs"
    assert result.hits[0].paper.title.startswith("Large Causal Models from")


@pytest.mark.django_db(transaction=True)
def test_a_large_vocabulary_is_reloaded_in_the_background_while_the_old_one_serves(
    index, monkeypatch
):
    monkeypatch.setattr(spelling, "BACKGROUND_RELOAD_WORDS", 1)
    monkeypatch.setattr(spelling, "RELOAD_EVERY", 0.0)
    monkeypatch.setattr(spelling, "_cache", None)
    index(make_paper("Holographic tensor networks"), embed=False)
    old = spelling.vocabulary()  # the first load is done at once
    assert old.nearest("holografic")[0] == "holographic"

    index(make_paper("Photonic crystals"), embed=False)  # a new token
    assert spelling.vocabulary() is old  # no wait: the loaded words answer meanwhile
    for _ in range(500):
        if spelling.vocabulary() is not old:
            break
        time.sleep(0.01)
    assert spelling.corrections(["photonik"]) == {"photonik": "photonic"}
