"""Embedding in several processes, each running the model on its own core(s).

onnxruntime's threads split each matrix product and meet after every operator; on a small
machine one single-threaded session per core, each fed whole batches, keeps every core busy
instead. The parent tokenizes and sorts (embedder.batches), the workers run the model, and
rows come back in input order. Workers start with the `spawn` method: a fork of a process
holding a database connection or the tokenizer's thread pool is not safe.

For `broadsheet embed` (a backfill that owns the machine); the scheduler's jobs and the web
server embed in-process (embedder.embed_texts), beside other work.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from broadsheet.search.embedder import BATCH_SIZE, DIMENSIONS, MAX_TOKENS, Embedder, batches

TASK_TEXTS = 16  # texts a worker is handed at a time
_worker: Embedder | None = None


def _start(threads: int, model: str, max_tokens: int) -> None:
    global _worker
    threading.Thread(target=_exit_with_parent, args=(os.getppid(),), daemon=True).start()
    _worker = Embedder(threads, Path(model), max_tokens=max_tokens)


def _exit_with_parent(parent: int) -> None:
    """A worker waits for batches forever: when its parent is killed (no chance to shut the
    pool down), the worker is adopted by another process and exits."""
    while os.getppid() == parent:
        time.sleep(1)
    os._exit(1)


def _run(work: list[list[list[int]]]) -> list[np.ndarray]:
    """The vectors of each batch of token ids in `work`."""
    assert _worker is not None
    return [_worker.run(ids) for ids in work]


class EmbedPool:
    """`workers` processes with `threads` onnxruntime threads each, all running `model`.
    Use as a context manager, or call close()."""

    def __init__(
        self, workers: int, model: Path, threads: int = 1, max_tokens: int = MAX_TOKENS
    ) -> None:
        if workers < 1:
            raise ValueError("an embedding pool needs at least one worker")
        self.tokenizer = Embedder.make_tokenizer(max_tokens)
        self.executor = ProcessPoolExecutor(
            max_workers=workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start,
            initargs=(threads, str(model), max_tokens),
        )

    def embed(self, texts: Sequence[str], batch_size: int = BATCH_SIZE) -> np.ndarray:
        """What Embedder.embed returns for these texts, computed by the workers."""
        out = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
        ids = [e.ids for e in self.tokenizer.encode_batch([t or " " for t in texts])]
        # Longest batches first: the last to finish are short ones, so no core idles long.
        # A task holds several batches: the pool hands a worker its next task from a thread
        # of this process, which on a busy machine waits for a core as long as a batch runs.
        work = batches(ids, batch_size)[::-1]
        per_task = max(1, TASK_TEXTS // batch_size)
        futures = []
        for start in range(0, len(work), per_task):
            task = work[start : start + per_task]
            futures.append((task, self.executor.submit(_run, [[ids[i] for i in b] for b in task])))
        for task, future in futures:
            for rows, vectors in zip(task, future.result(), strict=True):
                out[rows] = vectors
        return out

    def close(self) -> None:
        self.executor.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> EmbedPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
