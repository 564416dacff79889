"""Benchmark: how well For you's scoring finds papers of a simulated member's field.

    .venv/bin/python bench/recommend.py [--trials 300]

Over ../shared/data/arxiv-1000.csv (embedded once with our MiniLM model, cached under
artifacts/): a simulated member likes 5 papers of one arXiv category (the "main" taste), or 4
of one and 1 of another ("mixed"); every other paper is a candidate. Prints precision@10 (the
share of the top 10 in the main category) for the similarity alone, the linear model alone,
and the blend `recommend.score` uses, against the same run's random baseline.
"""

from __future__ import annotations

import argparse
import ast
import csv
import os
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
CSV = ROOT.parent / "shared" / "data" / "arxiv-1000.csv"
CACHE = ROOT / "artifacts" / "arxiv-1000-vectors.npy"
sys.path.insert(0, str(ROOT))
os.environ.setdefault("BROADSHEET_DEBUG", "true")


def load(path: Path):
    with path.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    cats = [ast.literal_eval(r["terms"])[0] for r in rows]
    if CACHE.exists():
        vectors = np.load(CACHE)
    else:
        from broadsheet.search.embedder import embed_texts, paper_text

        started = time.perf_counter()
        vectors = embed_texts([paper_text(r["titles"], r["summaries"]) for r in rows])
        print(f"embedded {len(rows)} abstracts in {time.perf_counter() - started:.0f} s")
        CACHE.parent.mkdir(exist_ok=True)
        np.save(CACHE, vectors)
    return vectors, cats


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--trials", type=int, default=300)
    parser.add_argument("--csv", type=Path, default=CSV, help=f"default {CSV}")
    args = parser.parse_args()
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "broadsheet.settings")
    os.environ.setdefault("BROADSHEET_DATA_DIR", str(ROOT / "artifacts" / "bench-data"))
    django.setup()
    from broadsheet.search import recommend

    vectors, cats = load(args.csv)
    by_cat = defaultdict(list)
    for i, c in enumerate(cats):
        by_cat[c].append(i)
    big = [c for c, ids in by_cat.items() if len(ids) >= 30]
    rng = np.random.default_rng(1)
    results = defaultdict(lambda: defaultdict(list))
    timings = []
    for kind in ("main", "mixed"):
        for _ in range(args.trials):
            main_cat, other_cat = rng.choice(big, size=2, replace=False)
            likes = list(
                rng.choice(by_cat[main_cat], size=5 if kind == "main" else 4, replace=False)
            )
            if kind == "mixed":
                likes.append(int(rng.choice(by_cat[other_cat])))
            rest = np.setdiff1d(np.arange(len(cats)), likes)
            negatives = rng.choice(rest, size=300, replace=False)
            started = time.perf_counter()
            blended, nearest, _ = recommend.score(vectors[likes], vectors[rest], vectors[negatives])
            timings.append(time.perf_counter() - started)
            model = (blended - recommend.SIMILARITY_WEIGHT * nearest) / recommend.MODEL_WEIGHT
            hit = np.array([cats[i] == main_cat for i in rest])
            for name, s in (
                ("random", rng.random(len(rest))),
                ("similarity only", nearest),
                ("linear model only", model),
                ("blend (used)", blended),
            ):
                results[kind][name].append(hit[np.argsort(-s)[:10]].mean())
    print(f"{len(cats)} papers, {len(big)} categories with >= 30 papers, {args.trials} trials each")
    for kind, rows in results.items():
        base = np.mean(rows["random"])
        for name, values in rows.items():
            mean = np.mean(values)
            print(f"{kind:5s} {name:18s} precision@10 {mean:.3f}  ({mean / base:.1f}x random)")
    print(f"scoring {len(cats)} candidates: median {np.median(timings) * 1000:.1f} ms")


if __name__ == "__main__":
    main()
