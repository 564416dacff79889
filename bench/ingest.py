"""Benchmark: import N realistic JSONL records into a fresh SQLite database.

    .venv/bin/python bench/ingest.py [--records 1000000]

Records are shaped on ../shared/data/arxiv-1000.csv (real titles and abstracts, recombined),
with 1-12 authors from a pool of names, categories and dates. Prints records/second for our
`broadsheet ingest jsonl` path and, as a same-run baseline, for a bare sqlite3 executemany of
the same rows into one table (the floor any importer pays), and their ratio.
Target (issue 3): 1M records in at most 5 minutes on a 2-core machine, embeddings excluded.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import resource
import sqlite3
import tempfile
import time
from pathlib import Path

from sitelib import django_in_process

ROOT = Path(__file__).resolve().parent.parent
# ../shared beside a checkout; a worktree sits one level deeper (wt/NAME).
CSV = ROOT.parent / "shared" / "data" / "arxiv-1000.csv"
if not CSV.exists():
    CSV = ROOT.parent.parent / "shared" / "data" / "arxiv-1000.csv"
FIRST = (
    "Ada Alan Grace Edsger Barbara Donald Leslie Frances John Radia Yann Fei-Fei Geoffrey Yoshua Daphne Judea Shafi Silvio Michael Andrew Tim Ilya Oriol Demis"
).split()
LAST = (
    "Lovelace Turing Hopper Dijkstra Liskov Knuth Lamport Allen McCarthy Perlman LeCun Li Hinton Bengio Koller Pearl Goldwasser Micali Jordan Ng Berners-Lee Sutskever Vinyals Hassabis"
).split()
CATS = "cs.LG cs.CL cs.CV cs.AI stat.ML cs.RO cs.IR math.OC cs.NE eess.IV".split()


def load_texts():
    if CSV.exists():
        with CSV.open(newline="", encoding="utf-8") as f:
            rows = [(r["titles"], r["summaries"]) for r in csv.DictReader(f)]
        if rows:
            return rows
    return [(f"A study of topic {i}", "We study things. " * 40) for i in range(1000)]


def generate(path: Path, n: int, seed: int = 1) -> None:
    rng = random.Random(seed)
    texts = load_texts()
    authors = [f"{f} {m}. {last}" for f in FIRST for last in LAST for m in "ABCDEFGHIJ"]
    with path.open("w", encoding="utf-8") as out:
        for i in range(n):
            title, abstract = texts[rng.randrange(len(texts))]
            year, month = 2007 + (i * 19 // n), 1 + i % 12
            cats = rng.sample(CATS, rng.randint(1, 3))
            rec = {
                "arxiv_id": f"{year % 100:02d}{month:02d}.{i % 100000:05d}",
                "arxiv_version": rng.randint(1, 3),
                "title": f"{title} ({i})",
                "abstract": abstract,
                "authors": rng.sample(authors, rng.randint(1, 12)),
                "categories": cats,
                "primary_category": cats[0],
                "published_at": f"{year}-{month:02d}-{1 + i % 28:02d}T12:00:00+00:00",
            }
            out.write(json.dumps(rec) + "\n")


def baseline(path: Path, db: Path) -> float:
    """Parse the same file and executemany it into one bare table: the floor."""
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE p (arxiv_id TEXT UNIQUE, title TEXT, abstract TEXT, authors TEXT)")
    start = time.perf_counter()
    with path.open(encoding="utf-8") as f:
        batch = []
        for line in f:
            r = json.loads(line)
            batch.append((r["arxiv_id"], r["title"], r["abstract"], json.dumps(r["authors"])))
            if len(batch) == 1000:
                conn.executemany("INSERT OR REPLACE INTO p VALUES (?,?,?,?)", batch)
                conn.commit()
                batch = []
        conn.executemany("INSERT OR REPLACE INTO p VALUES (?,?,?,?)", batch)
        conn.commit()
    elapsed = time.perf_counter() - start
    conn.close()
    return elapsed


def ours(path: Path, data_dir: Path) -> tuple[float, str]:
    django_in_process(data_dir)
    from broadsheet.ingest.jsonl import read_jsonl_file
    from broadsheet.ingest.upsert import upsert

    start, cpu = time.perf_counter(), time.process_time()
    with path.open("rb") as f:
        counts = upsert(read_jsonl_file(f, path.name))
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    helpers = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(
        f"CPU: {cpu:.1f} s in this process (storing), {helpers.ru_utime + helpers.ru_stime:.1f} s "
        "in its helpers (parsing the lines, writing the lexical index); 2 cores"
    )
    return elapsed, str(counts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        src = tmp / "records.jsonl"
        t = time.perf_counter()
        generate(src, args.records)
        print(
            f"generated {args.records:,} records ({src.stat().st_size / 1e6:.0f} MB) in {time.perf_counter() - t:.1f} s"
        )
        base = baseline(src, tmp / "baseline.sqlite3")
        print(
            f"baseline (bare sqlite3 executemany): {base:.1f} s, {args.records / base:,.0f} records/s"
        )
        elapsed, counts = ours(src, tmp / "data")
        print(
            f"broadsheet ingest jsonl: {elapsed:.1f} s, {args.records / elapsed:,.0f} records/s ({counts})"
        )
        print(f"ratio ours/baseline: {elapsed / base:.1f}x the time of the bare insert")
        per_million = elapsed * 1_000_000 / args.records / 60
        print(f"projected for 1M records: {per_million:.1f} min (target: at most 5 min)")


if __name__ == "__main__":
    main()
