"""Benchmark: import N realistic JSONL records into a fresh SQLite and PostgreSQL site.

    .venv/bin/python bench/ingest.py [--records 1000000] [--engine both|sqlite|postgresql]
        [--database-url postgres://...] [--search-engine database|embedded]

Records are shaped on broadsheet/papers/data/arxiv-1000.csv (real titles and abstracts, recombined),
with 1-12 authors from a pool of names, categories and dates. One corpus, imported by each
engine in turn through the path of `broadsheet ingest jsonl` (each in a process of its own,
since Django runs on one database per process). Prints records/second for each and, as
same-run baselines, the floor each engine pays for the same rows into one bare table (SQLite:
sqlite3 executemany; PostgreSQL: psycopg COPY), their ratios, and PostgreSQL's time against
SQLite's. PostgreSQL: a fresh database in the server at --database-url, or else a server of
its own (tests/pgserver.py) in the temporary folder, made durable like a production one
(fsync, full-page writes, synchronous commit on). `--search-engine` is PostgreSQL's
BROADSHEET_SEARCH_ENGINE for the import: `embedded` (the default, as on a site) writes no
tsvector (each web node indexes the papers itself, from the database: its join or catch-up is
timed by bench/search.py); `database` writes each paper's tsvector.
Targets: 1M records in at most 5 minutes into SQLite (issue 3) and 10 minutes into
PostgreSQL (issue 20) on a 2-core machine, embeddings excluded.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.parse
import uuid
from contextlib import contextmanager
from pathlib import Path

from sitelib import django_in_process

ROOT = Path(__file__).resolve().parent.parent
CSV = ROOT / "broadsheet" / "papers" / "data" / "arxiv-1000.csv"  # shipped with the package
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


def rows_of(path: Path):
    """The rows both baselines store: (arxiv id, title, abstract, authors as JSON)."""
    with path.open(encoding="utf-8") as f:
        for line in f:
            r = json.loads(line)
            yield r["arxiv_id"], r["title"], r["abstract"], json.dumps(r["authors"])


def baseline_sqlite(path: Path, db: Path) -> float:
    """Parse the same file and executemany it into one bare table: the floor."""
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE p (arxiv_id TEXT UNIQUE, title TEXT, abstract TEXT, authors TEXT)")
    start = time.perf_counter()
    batch = []
    for row in rows_of(path):
        batch.append(row)
        if len(batch) == 1000:
            conn.executemany("INSERT OR REPLACE INTO p VALUES (?,?,?,?)", batch)
            conn.commit()
            batch = []
    conn.executemany("INSERT OR REPLACE INTO p VALUES (?,?,?,?)", batch)
    conn.commit()
    elapsed = time.perf_counter() - start
    conn.close()
    return elapsed


def baseline_postgresql(path: Path, url: str) -> float:
    """Parse the same file and COPY it into one bare table, 20,000 rows a transaction."""
    import psycopg

    with psycopg.connect(url) as conn:
        conn.execute(
            "CREATE TABLE bench_p (arxiv_id text UNIQUE, title text, abstract text, authors text)"
        )
        conn.commit()
        start = time.perf_counter()
        rows = rows_of(path)
        while True:
            with conn.cursor().copy("COPY bench_p FROM STDIN") as copy:
                n = 0
                for row in rows:
                    copy.write_row(row)
                    n += 1
                    if n == 20000:
                        break
            conn.commit()
            if n < 20000:
                break
        elapsed = time.perf_counter() - start
        conn.execute("DROP TABLE bench_p")
        conn.commit()
    return elapsed


def ours(path: Path, data_dir: Path, url: str, search_engine: str) -> dict:
    """Import the file as `broadsheet ingest jsonl` does, in this process."""
    env = {"BROADSHEET_DATABASE_URL": url, "BROADSHEET_SEARCH_ENGINE": search_engine}
    django_in_process(data_dir, **(env if url else {}))
    from broadsheet.ingest.jsonl import read_jsonl_file
    from broadsheet.ingest.upsert import upsert

    server = server_cpu(url) if url else 0.0
    start, cpu = time.perf_counter(), time.process_time()
    with path.open("rb") as f:
        counts = upsert(read_jsonl_file(f, path.name))
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    helpers = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = {
        "seconds": elapsed,
        "counts": str(counts),
        "cpu": cpu,
        "helpers_cpu": helpers.ru_utime + helpers.ru_stime,
    }
    if url:
        from django.db import connection

        connection.close()  # its backend's CPU is counted once it has ended
        time.sleep(0.5)
        result["server_cpu"] = server_cpu(url) - server
    return result


def server_cpu(url: str) -> float:
    """CPU seconds the PostgreSQL server's processes have used (its postmaster's children)."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        directory = conn.execute("SHOW data_directory").fetchone()[0]
    pid = int(Path(directory, "postmaster.pid").read_text().split()[0])
    total = 0.0
    ticks = os.sysconf("SC_CLK_TCK")
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if stat.parent.name == str(pid) or int(fields[1]) == pid:
            # utime, stime, and those of waited-for children (ended backends)
            total += sum(int(v) for v in fields[11:15]) / ticks
    return total


@contextmanager
def postgresql(tmp: Path, url: str):
    """A URL to a fresh database: in the server at `url`, or in one started in tmp."""
    import psycopg

    server = None
    if not url:
        server = tmp / "pg"
        out = subprocess.run(
            [sys.executable, str(ROOT / "tests" / "pgserver.py"), "start", str(server)],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        url = out.stdout.strip().splitlines()[-1]
        with psycopg.connect(url, autocommit=True) as conn:
            # The test server trades durability for speed; measure what production runs.
            for name in ("fsync", "full_page_writes", "synchronous_commit"):
                conn.execute(f"ALTER SYSTEM SET {name} = on")
            conn.execute("SELECT pg_reload_conf()")
    name = f"bench_ingest_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urllib.parse.urlunsplit(urllib.parse.urlsplit(url)._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if server is not None:
            subprocess.run(
                [sys.executable, str(ROOT / "tests" / "pgserver.py"), "stop", str(server)],
                capture_output=True, check=False,
            )  # fmt: skip


def settings(url: str) -> str:
    import psycopg

    names = ("server_version", "fsync", "synchronous_commit", "shared_buffers", "max_wal_size")
    with psycopg.connect(url, autocommit=True) as conn:
        return ", ".join(f"{n} {conn.execute(f'SHOW {n}').fetchone()[0]}" for n in names)


def run_engine(engine: str, src: Path, tmp: Path, url: str, search_engine: str) -> dict:
    """Baseline, then our import in a process of its own; returns the figures."""
    load = os.getloadavg()[0]
    result: dict = {"engine": engine}
    if engine == "sqlite":
        result["baseline"] = baseline_sqlite(src, tmp / "baseline.sqlite3")
    else:
        result["baseline"] = baseline_postgresql(src, url)
        result["settings"] = settings(url)
        result["search_engine"] = search_engine
    out = subprocess.run(
        [sys.executable, __file__, "--import-only", str(src), "--data-dir",
         str(tmp / f"data-{engine}"), "--database-url", url if engine != "sqlite" else "",
         "--search-engine", search_engine],
        capture_output=True, text=True,
    )  # fmt: skip
    if out.returncode != 0:
        raise SystemExit(f"{engine} import failed:\n{out.stderr[-3000:]}")
    result.update(json.loads(out.stdout.strip().splitlines()[-1]))
    result["load"] = (load, os.getloadavg()[0])
    return result


def report(r: dict, n: int) -> None:
    name = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}[r["engine"]]
    floor = "bare sqlite3 executemany" if r["engine"] == "sqlite" else "bare COPY"
    print(f"{name}: load {r['load'][0]:.1f} before, {r['load'][1]:.1f} after")
    if "settings" in r:
        print(f"  server: {r['settings']}; search engine: {r['search_engine']}")
    print(f"  baseline ({floor}): {r['baseline']:.1f} s, {n / r['baseline']:,.0f} records/s")
    print(f"  broadsheet ingest jsonl: {r['seconds']:.1f} s, {n / r['seconds']:,.0f} records/s"
          f" ({r['counts']})")  # fmt: skip
    cpu = f"  CPU: {r['cpu']:.1f} s importer (storing), {r['helpers_cpu']:.1f} s its helpers"
    if "server_cpu" in r:
        cpu += f", {r['server_cpu']:.1f} s the PostgreSQL server (all its processes)"
    print(cpu + "; 2 cores")
    print(f"  ratio ours/baseline: {r['seconds'] / r['baseline']:.1f}x the time of the bare insert")
    print(f"  projected for 1M records: {r['seconds'] * 1_000_000 / n / 60:.1f} min")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--engine", choices=["both", "sqlite", "postgresql"], default="both")
    parser.add_argument("--database-url", default="", help="a PostgreSQL server to use")
    parser.add_argument("--search-engine", choices=["embedded", "database"], default="embedded",
                        help="PostgreSQL's BROADSHEET_SEARCH_ENGINE for the import")  # fmt: skip
    parser.add_argument("--import-only", metavar="FILE", help=argparse.SUPPRESS)
    parser.add_argument("--data-dir", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.import_only:  # the child process of run_engine()
        figures = ours(Path(args.import_only), Path(args.data_dir), args.database_url,
                       args.search_engine)  # fmt: skip
        print(json.dumps(figures))
        return
    engines = ["sqlite", "postgresql"] if args.engine == "both" else [args.engine]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        tmp.chmod(0o755)  # the bundled server runs as nobody when we are root
        src = tmp / "records.jsonl"
        t = time.perf_counter()
        generate(src, args.records)
        print(
            f"generated {args.records:,} records ({src.stat().st_size / 1e6:.0f} MB) in {time.perf_counter() - t:.1f} s"
        )
        results = {}
        for engine in engines:
            if engine == "sqlite":
                results[engine] = run_engine(engine, src, tmp, "", args.search_engine)
            else:
                with postgresql(tmp, args.database_url) as url:
                    results[engine] = run_engine(engine, src, tmp, url, args.search_engine)
            report(results[engine], args.records)
        if len(results) == 2:
            lite, pg = results["sqlite"]["seconds"], results["postgresql"]["seconds"]
            print(f"PostgreSQL/SQLite: {pg / lite:.2f}x the time "
                  f"({args.records / pg:,.0f} against {args.records / lite:,.0f} records/s)")  # fmt: skip
        print("targets for 1M records: SQLite at most 5 min, PostgreSQL at most 10 min")


if __name__ == "__main__":
    main()
