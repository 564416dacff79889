"""Benchmark: how well For you's scoring finds papers of a simulated member's field.

    .venv/bin/python bench/recommend.py [--trials 300]

Over broadsheet/papers/data/arxiv-1000.csv (embedded once with our MiniLM model, cached under
artifacts/): a simulated member likes 5 papers of one arXiv category (the "main" taste), or 4
of one and 1 of another ("mixed"); every other paper is a candidate. Prints precision@10 (the
share of the top 10 in the main category) for the similarity alone, the linear model alone,
and the blend `recommend.score` uses, against the same run's random baseline.

Then the library-seeded scenario, end to end on a throwaway SQLite site holding the sample
(the same 1,000 abstracts with their shipped vectors, and the 34 sample papers): a member
imports a BibTeX file of 30 papers of one category (titles only, so each is matched by its
normalised title through the lexical index), and For you's picks_for() ranks the whole
site for them. Prints precision@10 of those picks against similarity only (the 10 papers
closest to any library paper) and random, over the same candidates (every paper not in the
library), and how many of the 30 the import matched.
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
CSV = ROOT / "broadsheet" / "papers" / "data" / "arxiv-1000.csv"  # shipped with the package
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
    parser.add_argument("--library-trials", type=int, default=40)
    args = parser.parse_args()
    import tempfile

    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "broadsheet.settings")
    # A fresh site for the library scenario (the first scenario uses no database).
    site = tempfile.mkdtemp(prefix="bench-recommend-")
    os.environ.update(BROADSHEET_DATA_DIR=site, BROADSHEET_SECRET_KEY="bench",
                      BROADSHEET_LOG_LEVEL="ERROR", BROADSHEET_SEARCH_SEMANTIC="false")  # fmt: skip
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
    library_seeded(args.library_trials)


def library_seeded(trials: int, size: int = 30) -> None:
    from django.core.management import call_command

    from broadsheet.accounts.models import User
    from broadsheet.library.entries import normal_title
    from broadsheet.library.imports import import_file
    from broadsheet.ops.sample import arxiv_rows
    from broadsheet.papers.models import Paper
    from broadsheet.search.recommend import picks_for, vectors_of

    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    call_command("load-sample", verbosity=0)
    print(f"\nsite with the sample: {time.perf_counter() - started:.0f} s")
    category = {normal_title(r.title): r.categories[0] for r in arxiv_rows() if r.categories}
    papers = list(Paper.objects.values_list("id", "title"))
    cat_of = {pid: category.get(normal_title(t)) for pid, t in papers}
    vectors = vectors_of(cat_of)
    by_cat = defaultdict(list)
    for pid, c in cat_of.items():
        if c and pid in vectors:
            by_cat[c].append(pid)
    big = sorted(c for c, ids in by_cat.items() if len(ids) >= 2 * size)
    title_of = dict(papers)
    rng = np.random.default_rng(2)
    results = defaultdict(list)
    matched, timings = [], []
    for n in range(trials):
        cat = str(rng.choice(big))
        library = [int(i) for i in rng.choice(by_cat[cat], size=size, replace=False)]
        bib = "\n".join(
            f"@article{{p{i}, title = {{{title_of[pid]}}}}}" for i, pid in enumerate(library)
        )
        member = User.objects.create_user(f"reader{n}")
        report = import_file(member, "library.bib", bib.encode(), fetch_max=0)
        matched.append(report.matched)
        started = time.perf_counter()
        picks = [p.paper.pk for p in picks_for(member, limit=10)]
        timings.append(time.perf_counter() - started)
        rest = [pid for pid in vectors if pid not in set(library)]
        likes = np.stack([vectors[pid] for pid in library])
        nearest = (np.stack([vectors[pid] for pid in rest]) @ likes.T).max(axis=1)
        for name, chosen in (
            ("random", [rest[i] for i in rng.choice(len(rest), size=10, replace=False)]),
            ("similarity only", [rest[i] for i in np.argsort(-nearest)[:10]]),
            ("For you (library-seeded)", picks),
        ):
            results[name].append(np.mean([cat_of[pid] == cat for pid in chosen]))
    print(f"library of {size} papers of one category ({len(big)} categories with >= "
          f"{2 * size} papers), {trials} members; the import matched "
          f"{np.mean(matched):.1f} of {size} by title")  # fmt: skip
    base = np.mean(results["random"])
    for name, values in results.items():
        mean = np.mean(values)
        print(f"library {name:26s} precision@10 {mean:.3f}  ({mean / base:.1f}x random)")
    print(f"picks_for over {len(vectors)} papers: median {np.median(timings) * 1000:.0f} ms")


if __name__ == "__main__":
    main()
