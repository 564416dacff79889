"""The query model: an int8 copy of the packaged model, made once per model directory."""

from __future__ import annotations

import logging
from collections import Counter

import numpy as np
import onnx

from broadsheet.search import embedder, query_model
from broadsheet.search.embedder import Embedder


def test_the_query_model_multiplies_in_int8_and_is_made_once():
    made = query_model.path()
    assert made == query_model.cached_path() and made.exists()
    ops = Counter(node.op_type for node in onnx.load(str(made)).graph.node)
    # 6 layers x 6 weight matrices; queries, keys and values share one quantised input
    assert ops["MatMulInteger"] == 36 and ops["DynamicQuantizeLinear"] == 24
    assert ops["MatMul"] == 12  # attention's two products of activations stay float
    assert ops["IsNaN"] == 0 and ops["Where"] == 1  # the softmax guards are gone, not the mask
    assert ops["Gelu"] == 6 and ops["Erf"] == 0
    mtime = made.stat().st_mtime_ns
    assert query_model.path() == made and made.stat().st_mtime_ns == mtime


def test_query_vectors_point_where_the_packaged_model_points(sample_vectors):
    """The int8 copy points where the packaged model does: a query from it finds the same
    papers (cosine to the packaged model's vector of the same query, and the nearest sample
    abstracts)."""
    queries = [
        "sparse autoencoders for interpretability",
        "causal discovery from time series",
        "video diffusion",
        "counterfactual explanations",
        "LLM",
    ]
    papers = np.stack(list(sample_vectors.values()))
    ours = np.stack([embedder.embed_query(q) for q in queries])
    packaged = Embedder(2, query_model.packaged()).embed(queries)
    assert embedder.get_embedder("queries") is not embedder.get_embedder("papers")
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, rtol=1e-5)
    assert ((ours * packaged).sum(axis=1) > 0.97).all()
    for mine, theirs in zip(ours, packaged, strict=True):
        # Near ties may swap; the best paper of either is among the other's best three.
        assert np.argmax(papers @ theirs) in np.argsort(-papers @ mine)[:3]
        assert np.argmax(papers @ mine) in np.argsort(-papers @ theirs)[:3]


def test_a_data_directory_where_it_cannot_be_made_searches_with_the_packaged_model(
    settings, tmp_path, caplog
):
    (tmp_path / "models").write_text("not a directory")
    settings.MODEL_DIR = tmp_path / "models"
    with caplog.at_level(logging.WARNING, logger="broadsheet.search"):
        assert query_model.path() == query_model.packaged()
    assert "could not make" in caplog.text and "using the packaged model" in caplog.text
    vector = Embedder(1, query_model.path()).embed(["sparse autoencoders"])[0]
    assert abs(float(np.linalg.norm(vector)) - 1.0) < 1e-5
