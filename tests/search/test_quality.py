"""Search quality over the sample listing (34 real papers): 34 queries (paraphrases,
abbreviations, names, ids) with the paper each one is after. One run shows that fusing the
lexical and semantic lists ranks at least as well as either alone, and prints the figures.

Run `pytest tests/search/test_quality.py -s` to see them.
"""

from __future__ import annotations

import pytest

from broadsheet.search import search

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


def reciprocal_rank(query: str, wanted: str, mode: str) -> float:
    for rank, hit in enumerate(search(query, limit=10, mode=mode).hits, start=1):
        if hit.paper.title.startswith(wanted):
            return 1.0 / rank
    return 0.0


@pytest.fixture
def figures(sample) -> dict[str, list[float]]:
    return {mode: [reciprocal_rank(q, want, mode) for q, want in QUERIES] for mode in MODES}


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
