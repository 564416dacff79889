"""Embedding throughput: the ways papers could be embedded, and what each does to retrieval.

    .venv/bin/python bench/embed.py                       # the 1,000 shared abstracts, 3 rounds
    .venv/bin/python bench/embed.py --papers 3000 --rounds 5
    .venv/bin/python bench/embed.py --levers today,int8-sorted-b16,pool2-int8-sorted-b16

Each lever is one way of turning (title, abstract) texts into vectors: the model file (the
packaged one, or the int8 dynamically quantised copy of query_model.py), batch order and size,
the longest sequence, onnxruntime's graph optimisation and threads, or a pool of worker
processes. All run in this one process (the pool's workers are its children), in alternating
rounds over the same texts, each round in a rotated order; printed are each lever's median
abstracts/s, the median of its per-round ratio to `today` (how papers were embedded before:
the packaged model, batches of 8 in input order, 2 threads), and the retrieval quality of its
vectors over the distinct papers of the shared file, against today's vectors: MRR (rank among
all papers, not cut at 10) of the paper a query came from, queries embedded as production
embeds them (the int8 query model, one thread), for three kinds of query: the title, the
title's first 4 words, and 5 consecutive words from a random place in the abstract. The
median cosine between a lever's vector and today's for the same paper is printed too.

Rounds alternate because the machine is shared: absolute figures move with the load (printed
before and after), ratios within a round much less.
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
_spec = importlib.util.spec_from_file_location("bench_search", ROOT / "bench" / "search.py")
bench_search = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench_search)

EmbedFn = Callable[[list[str]], np.ndarray]


class Lever:
    def __init__(self, name: str, what: str, make: Callable[[], tuple[EmbedFn, Callable]]):
        self.name, self.what, self.make = name, what, make
        self.embed: EmbedFn | None = None
        self.close: Callable = lambda: None
        self.start_s = 0.0

    def open(self) -> None:
        t = time.perf_counter()
        self.embed, self.close = self.make()
        self.embed(["warm up the model", "and a second, longer text to warm it up with"])
        self.start_s = time.perf_counter() - t


def levers(packaged: Path, int8: Path) -> dict[str, Lever]:
    from broadsheet.search.embed_pool import EmbedPool
    from broadsheet.search.embedder import Embedder

    def local(model: Path, batch: int, sort: bool, threads: int = 2, **kw) -> Callable:
        def make():
            e = Embedder(threads, model, **kw)
            return (lambda texts: e.embed(texts, batch_size=batch, sort=sort)), (lambda: None)

        return make

    def pool(model: Path, batch: int, workers: int = 2, threads: int = 1) -> Callable:
        def make():
            p = EmbedPool(workers, model, threads=threads)
            return (lambda texts: p.embed(texts, batch_size=batch)), p.close

        return make

    out = [
        Lever("today", "packaged model, b8 in input order, 2 threads", local(packaged, 8, False)),
        Lever("sorted-b8", "packaged, length-sorted b8", local(packaged, 8, True)),
        Lever("sorted-b32", "packaged, length-sorted b32", local(packaged, 32, True)),
        Lever("int8-b8", "int8 model, b8 in input order", local(int8, 8, False)),
        Lever("int8-sorted-b8", "int8, length-sorted b8", local(int8, 8, True)),
        Lever("int8-sorted-b16", "int8, length-sorted b16", local(int8, 16, True)),
        Lever("int8-sorted-b32", "int8, length-sorted b32", local(int8, 32, True)),
        Lever("int8-sorted-b64", "int8, length-sorted b64", local(int8, 64, True)),
        Lever(
            "int8-sorted-b16-t128",
            "int8, sorted b16, 128 tokens",
            local(int8, 16, True, max_tokens=128),
        ),  # fmt: skip
        Lever(
            "int8-sorted-b16-t192",
            "int8, sorted b16, 192 tokens",
            local(int8, 16, True, max_tokens=192),
        ),  # fmt: skip
        Lever(
            "int8-sorted-b16-spin",
            "int8, sorted b16, spinning threads",
            local(int8, 16, True, spinning=True),
        ),  # fmt: skip
        Lever(
            "int8-sorted-b16-basic",
            "int8, sorted b16, basic graph optimisation",
            local(int8, 16, True, optimization="basic"),
        ),  # fmt: skip
        Lever("int8-sorted-b16-1t", "int8, sorted b16, 1 thread", local(int8, 16, True, 1)),
        Lever("pool2-sorted-b8", "2 processes x 1 thread, packaged, sorted b8", pool(packaged, 8)),
        Lever("pool2-int8-sorted-b8", "2 processes x 1 thread, int8, sorted b8", pool(int8, 8)),
        Lever(
            "pool2-int8-sorted-b16", "2 processes x 1 thread, int8, sorted b16", pool(int8, 16)
        ),  # fmt: skip
        Lever(
            "pool2-int8-sorted-b32", "2 processes x 1 thread, int8, sorted b32", pool(int8, 32)
        ),  # fmt: skip
    ]
    return {lever.name: lever for lever in out}


def read_papers() -> list[tuple[str, str]]:
    """The distinct (title, abstract) pairs of the shared file, in file order."""
    with open(bench_search.CSV, newline="", encoding="utf-8") as f:
        rows = [(" ".join(r["titles"].split()), " ".join(r["summaries"].split()))
                for r in csv.DictReader(f)]  # fmt: skip
    return list(dict.fromkeys(rows))


def queries(papers: list[tuple[str, str]], rng: random.Random) -> dict[str, list[str]]:
    def abstract_words(abstract: str) -> str:
        words = abstract.split()
        start = rng.randrange(max(1, len(words) - 5))
        return " ".join(words[start : start + 5])

    return {
        "title": [t for t, _ in papers],
        "4 title words": [" ".join(t.split()[:4]) for t, _ in papers],
        "5 abstract words": [abstract_words(a) for _, a in papers],
    }


def mrr(docs: np.ndarray, qvecs: np.ndarray) -> float:
    """Mean reciprocal rank of paper i for query i, among all papers."""
    scores = qvecs @ docs.T
    own = scores[np.arange(len(docs)), np.arange(len(docs))]
    ranks = (scores > own[:, None]).sum(axis=1) + 1
    return float(np.mean(1.0 / ranks))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--papers", type=int, default=1000, help="texts per round (repeated)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--levers", default="", help="comma-separated names (default: all)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--verbose", action="store_true", help="print each lever's each round")
    args = parser.parse_args()

    data_dir = args.data_dir or Path(tempfile.gettempdir()) / "broadsheet-bench-embed"
    data_dir.mkdir(parents=True, exist_ok=True)
    bench_search.setup_django(data_dir)
    from broadsheet.search import query_model
    from broadsheet.search.embedder import QUERY_THREADS, Embedder, paper_text

    papers = read_papers()
    texts = [paper_text(t, a) for t, a in papers]
    run_texts = (texts * (args.papers // len(texts) + 1))[: args.papers]
    int8 = query_model.path()
    if int8 == query_model.packaged():
        sys.exit("the int8 model could not be made: see the log")
    table = levers(query_model.packaged(), int8)
    chosen = [n for n in args.levers.split(",") if n] or list(table)
    if "today" not in chosen:
        chosen.insert(0, "today")
    unknown = [n for n in chosen if n not in table]
    if unknown:
        sys.exit(f"unknown levers {unknown}; known: {', '.join(table)}")
    selected = [table[n] for n in chosen]

    print(f"bench/embed.py: {args.papers} texts a round ({len(papers)} distinct papers), "
          f"{args.rounds} rounds, {os.cpu_count()} CPUs, load {bench_search.load()}")  # fmt: skip
    for lever in selected:
        lever.open()
    rates: dict[str, list[float]] = {lever.name: [] for lever in selected}
    ratios: dict[str, list[float]] = {lever.name: [] for lever in selected}
    vectors: dict[str, np.ndarray] = {}
    for r in range(args.rounds):
        k = r % len(selected)
        order = selected[k:] + selected[:k]
        seconds = {}
        for lever in order:
            t = time.perf_counter()
            out = lever.embed(run_texts)
            seconds[lever.name] = time.perf_counter() - t
            if args.verbose:
                print(f"    {lever.name}: {args.papers / seconds[lever.name]:.1f}/s", flush=True)
            if lever.name not in vectors and len(out) >= len(texts):
                vectors[lever.name] = out[: len(texts)]
        for lever in selected:
            rates[lever.name].append(args.papers / seconds[lever.name])
            ratios[lever.name].append(seconds["today"] / seconds[lever.name])
        print(f"  round {r + 1}: load {bench_search.load()}", flush=True)
    for lever in selected:
        if lever.name not in vectors:
            vectors[lever.name] = lever.embed(texts)
        lever.close()

    query_model_embedder = Embedder(QUERY_THREADS, int8)
    qs = queries(papers, random.Random(args.seed))
    qvecs = {kind: query_model_embedder.embed(q, batch_size=1) for kind, q in qs.items()}
    base = vectors["today"]
    print(f"\n  load {bench_search.load()}")
    print(f"  {'lever':24} {'abstracts/s':>11} {'vs today':>8} {'start s':>7}   "
          + "   ".join(f"MRR {k}" for k in qs) + "   cos to today")  # fmt: skip
    for lever in selected:
        v = vectors[lever.name]
        quality = "   ".join(
            f"{mrr(v, qvecs[k]):.3f} ({mrr(v, qvecs[k]) - mrr(base, qvecs[k]):+.3f})".rjust(
                len(f"MRR {k}")
            )
            for k in qs
        )
        cos = float(np.median(np.sum(v * base, axis=1)))
        print(
            f"  {lever.name:24} {statistics.median(rates[lever.name]):11.1f} "
            f"{statistics.median(ratios[lever.name]):7.2f}x {lever.start_s:7.1f}   {quality}"
            f"   {cos:.4f}"
        )
    print("\n  " + "\n  ".join(f"{lever.name}: {lever.what}" for lever in selected))


if __name__ == "__main__":
    main()
