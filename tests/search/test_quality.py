"""Search quality over the sample listing (34 real papers): 34 queries (paraphrases,
abbreviations, names, ids) with the paper each one is after. One run shows that fusing the
lexical and semantic lists (search()) ranks at least as well as either list alone, as the
backend gives it (SearchBackend.lexical / .semantic: no spelling correction, no pins), and
prints the figures.

Run `pytest tests/search/test_quality.py -s` to see them.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from broadsheet.search import Filters, search
from broadsheet.search.backends import get_backend
from broadsheet.search.embedder import embed_query
from broadsheet.search.query import parse

# (query, the start of the relevant paper's title)
QUERIES = [
    ("streaming video generation at high resolution", "Ultra Flash"),
    ("real-time 2K video diffusion on one GPU", "Ultra Flash"),
    ("counterfactuals in invertible latent causal models", "Towards Characterizing Domain"),
    ("causal discovery when the data distribution changes over time", "Causal Discovery from"),
    ("MOSAIC", "MOSAIC"),
    ("fairness in node classification on graphs", "Causally Fair Node"),
    ("de finetti exchangeable data", "Causal de Finetti"),
    ("simulating realistic time series with causal structure", "Temporal Causal-based"),
    ("bounds on causal effects with hidden confounders", "Information-Theoretic Causal"),
    ("data augmentation for treatment effect estimation", "An Analysis of Causal Effect"),
    ("counterfactual image generation with diffusion autoencoders", "Causal Diffusion Auto"),
    ("LINA interventions physical alignment", "LINA"),
    ("sparse attention for diffusion LLMs", "SparseD"),
    ("bandits on causal graphs", "Asymmetric Graph Error"),
    ("when to use spurious correlations out of distribution", "Environment-Adaptive"),
    ("can large language models reason about causality", "Causal Reasoning and Large"),
    ("SAE feature allocation", "Adaptive Sparse Allocation"),
    ("latent capabilities of LLMs", "Discovering Hierarchical Latent"),
    ("invalid instrument average treatment effect", "Selective Machine Learning"),
    ("sparse linear regression random design", "Sparse Linear Regression"),
    ("efficient recommender systems with dynamic sparsity", "Dynamic Sparse Learning"),
    ("benchmark for physical reasoning of vision language models", "Causal Scaffolding"),
    ("string diagrams", "Causal Inference by String"),
    ("bootstrap aggregation for time series causal discovery", "Bootstrap aggregation"),
    ("random search for sparse network architectures", "Random Search as a Baseline"),
    ("dictionary learning with gradients", "Features that Make a Difference"),
    ("motion forecasting under distribution shift", "Generative Causal Representation"),
    ("debiasing multimodal models", "Debiasing Multimodal"),
    ("interpreting attention outputs with SAEs", "Interpreting Attention Layer"),
    ("sparse autoencoders for scientific images", "Towards Open-Ended Visual"),
    ("JEPA sparse representations", "SparseJEPA"),
    ("which invariance should be transferred", "Which Invariance Should"),
    ("causal analysis for interpretability of neural networks", "Causal Analysis for Robust"),
    ("causal models built from LLMs", "Large Causal Models from"),
]
MODES = ("lexical", "semantic", "hybrid")
TOP = 10


def lexical_ids(query: str) -> list[int]:
    backend = get_backend()
    with backend.pinned():
        return [pid for pid, _ in backend.lexical(parse(query), Filters(), TOP)]


def semantic_ids(query: str) -> list[int]:
    backend = get_backend()
    with backend.pinned():
        vector = embed_query(parse(query).meaning_text)
        return [pid for pid, _ in backend.semantic(vector, Filters(), TOP)]


def hybrid_ids(query: str) -> list[int]:
    return [hit.paper.pk for hit in search(query, limit=TOP).hits]


RANKERS: dict[str, Callable[[str], list[int]]] = {
    "lexical": lexical_ids,
    "semantic": semantic_ids,
    "hybrid": hybrid_ids,
}


def reciprocal_rank(ids: list[int], wanted: str, titles: dict[int, str]) -> float:
    for rank, pid in enumerate(ids, start=1):
        if titles[pid].startswith(wanted):
            return 1.0 / rank
    return 0.0


@pytest.fixture
def figures(sample) -> dict[str, list[float]]:
    titles = {p.pk: title for title, p in sample.items()}
    return {
        mode: [reciprocal_rank(RANKERS[mode](q), want, titles) for q, want in QUERIES]
        for mode in MODES
    }


def test_hybrid_ranks_at_least_as_well_as_either_list_alone(figures):
    mrr = {mode: sum(rr) / len(rr) for mode, rr in figures.items()}
    found = {mode: sum(r > 0 for r in rr) for mode, rr in figures.items()}
    print(f"\nSearch quality, {len(QUERIES)} queries over the sample listing (MRR@10, found):")
    for mode in MODES:
        print(f"  {mode:9} MRR {mrr[mode]:.3f}  found in top 10: {found[mode]}/{len(QUERIES)}")
    assert len(QUERIES) >= 20
    assert mrr["hybrid"] >= mrr["lexical"]
    assert mrr["hybrid"] >= mrr["semantic"]
    assert mrr["hybrid"] >= 0.8


def test_exact_title_and_id_come_first(sample):
    for title, paper in sample.items():
        hits = search(title).hits
        assert hits[0].paper == paper, title
        assert search(paper.slug).hits[0].paper == paper


def test_a_typo_still_finds_the_paper(sample):
    hits = search("sparse autoencoers").hits[:3]
    assert any("Sparse Autoencoders" in h.paper.title for h in hits)
    hits = search("causal inferance by string diagram surgey").hits[:1]
    assert hits and hits[0].paper.title.startswith("Causal Inference by String")
