"""Spelling-correction benchmark: the vocabulary at arXiv scale, its build, its load, and a
correction's time against brute force.

    .venv/bin/python bench/spelling.py [--words 1000000] [--brute 3]

The vocabulary: the words of the 1,000 real abstracts of broadsheet/papers/data/arxiv-1000.csv with
their counts scaled up, plus generated words (real words with one to three random edits,
and pairs run together, as names, formulas and typos fill a real vocabulary) until it holds
--words words with Zipf-like counts. Heaps' law on the 1,000 abstracts (4,985 words in 250,
9,783 in 1,000) puts 1M papers near 300,000 distinct words; real arXiv text (names, symbols)
has more, so the default is 1M.

Prints: the cost of counting a paper's words (what indexing adds per paper), the time to add
the vocabulary to search_word in a fresh SQLite database, the time and memory to load it
(the MAX_WORDS most common words, once per vocabulary change in each process), and for the
55 misspellings of tests/search/test_spelling.py: p50/p99 of one correction (database
look-up included) and of the candidate search alone, how many were right, and the ratio
against brute force measured in the same run (pure-Python Damerau-Levenshtein over the whole
loaded vocabulary, and rapidfuzz over the whole vocabulary without length buckets).
"""

from __future__ import annotations

import argparse
import ast
import csv
import random
import resource
import statistics
import string
import tempfile
import time
from collections import Counter
from pathlib import Path

from sitelib import django_in_process

ROOT = Path(__file__).resolve().parent.parent
CSV = ROOT / "broadsheet" / "papers" / "data" / "arxiv-1000.csv"


def misspellings() -> dict[str, str]:
    """The test's list, read from its source (no test imports in a bench)."""
    source = (ROOT / "tests" / "search" / "test_spelling.py").read_text()
    tree = ast.parse(source)
    for node in tree.body:
        if isinstance(node, ast.Assign) and node.targets[0].id == "MISSPELLINGS":
            return ast.literal_eval(node.value)
    raise SystemExit("MISSPELLINGS not found")


def mutate(word: str, rng: random.Random) -> str:
    chars = list(word)
    for _ in range(rng.randint(1, 3)):
        op, i = rng.random(), rng.randrange(len(chars) + 1)
        if op < 0.4 or len(chars) < 3:
            chars.insert(i, rng.choice(string.ascii_lowercase))
        elif op < 0.7 and i < len(chars):
            chars[i] = rng.choice(string.ascii_lowercase)
        elif i < len(chars):
            del chars[i]
    return "".join(chars)


def osa(a: str, b: str) -> int:
    """Damerau-Levenshtein (optimal string alignment), plain Python: the brute force."""
    prev2, prev = None, list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        cur = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = a[i - 1] != b[j - 1]
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        prev2, prev = prev, cur
    return prev[-1]


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(p * len(values)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--words", type=int, default=1_000_000)
    parser.add_argument("--brute", type=int, default=3, help="words corrected by brute force")
    args = parser.parse_args()
    django_in_process(Path(tempfile.mkdtemp(prefix="bench-spelling-")), BROADSHEET_DEBUG="false")
    from django.db import connection
    from rapidfuzz import process
    from rapidfuzz.distance import OSA

    from broadsheet.search import spelling

    rows = list(csv.DictReader(CSV.open()))
    texts = [f"{r['titles']} {r['summaries']}" for r in rows]
    real: Counter[str] = Counter()
    start = time.perf_counter()
    for text in texts * 5:
        real.update(spelling.surface_words(text))
    per_paper = (time.perf_counter() - start) / (5 * len(texts))
    print(
        f"counting a paper's words: {per_paper * 1e6:.1f} us (1M papers: {per_paper * 1e6:.0f} s)"
    )

    rng = random.Random(7)
    counts = Counter({w: n * 200 for w, n in real.items()})  # 1,000 papers scaled to 1M
    pool = sorted(real)  # the same vocabulary every run
    while len(counts) < args.words:
        a = rng.choice(pool)
        word = mutate(a, rng) if rng.random() < 0.7 else a + rng.choice(pool)
        if word not in counts and 0 < len(word) <= spelling.MAX_LENGTH:
            counts[word] = max(1, int(rng.paretovariate(1.2)))  # mostly 1-3 papers
    typos = misspellings()
    for typo in typos:
        counts.pop(typo, None)  # the typos themselves stay unknown
    print(f"vocabulary: {len(counts):,} words ({len(real):,} real)")

    start = time.perf_counter()
    batch: Counter[str] = Counter()
    for i, (word, n) in enumerate(counts.items()):
        batch[word] = n
        if len(batch) >= 50_000 or i == len(counts) - 1:
            with connection.cursor():
                spelling._add(batch)
            batch = Counter()
    print(
        f"adding it to search_word (SQLite, batches of 50,000): {time.perf_counter() - start:.2f} s"
    )

    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    vocab = spelling.vocabulary()
    load = time.perf_counter() - start
    grown = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss) / 1024
    print(f"loading the {len(vocab):,} most common words: {load:.2f} s, peak RSS +{grown:.0f} MB")

    full, nearest, right, wrong = [], [], 0, {}
    for typo, meant in typos.items():
        start = time.perf_counter()
        fixed = spelling.corrections([typo])
        full.append(time.perf_counter() - start)
        start = time.perf_counter()
        vocab.nearest(typo)
        nearest.append(time.perf_counter() - start)
        if fixed.get(typo) == meant:
            right += 1
        else:
            wrong[typo] = fixed.get(typo)
    print(
        f"one correction: p50 {statistics.median(full) * 1e3:.2f} ms, p99 "
        f"{pct(full, 0.99) * 1e3:.2f} ms (candidate search alone: p50 "
        f"{statistics.median(nearest) * 1e3:.2f} ms); right: {right}/{len(typos)}"
    )
    if wrong:
        print(f"  corrected otherwise (the generated words hold near neighbours): {wrong}")

    words = [w for by_first in vocab.buckets.values() for ws, _ in by_first.values() for w in ws]
    unbucketed = []
    for typo in typos:
        start = time.perf_counter()
        process.extract(typo, words, scorer=OSA.distance, score_cutoff=2, limit=None)
        unbucketed.append(time.perf_counter() - start)
    median = statistics.median(nearest)
    print(
        f"rapidfuzz over all {len(words):,} words, no length buckets: p50 "
        f"{statistics.median(unbucketed) * 1e3:.2f} ms "
        f"({statistics.median(unbucketed) / median:.1f}x the bucketed search)"
    )
    brute = []
    for typo in list(typos)[: args.brute]:
        start = time.perf_counter()
        min(words, key=lambda w: (osa(typo, w), w))
        brute.append(time.perf_counter() - start)
    print(
        f"brute force (pure-Python Damerau-Levenshtein over every word), {len(brute)} words: "
        f"median {statistics.median(brute):.2f} s ({statistics.median(brute) / median:,.0f}x)"
    )


if __name__ == "__main__":
    main()
