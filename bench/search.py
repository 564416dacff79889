"""Search benchmark: a generated corpus shaped like arXiv, then query latency and ANN recall.

    .venv/bin/python bench/search.py                    # 100,000 papers, SQLite, ~5 minutes
    .venv/bin/python bench/search.py --papers 1000000   # the issue's target size
    .venv/bin/python bench/search.py --papers 1000000 --data-dir D   # reuses a corpus built in D
    .venv/bin/python bench/search.py --engine postgresql --papers 20000 [--database-engine]
        # the same corpus in SQLite and PostgreSQL, measured side by side, and two nodes
    .venv/bin/python bench/search.py --calibrate 3000   # generated vectors vs real embeddings

The corpus: the 1,000 real abstracts of broadsheet/papers/data/arxiv-1000.csv are embedded once
(cached in the temporary folder), then each generated paper takes a real paper's sentences
mixed with another's (so word frequencies stay Zipf-like and lengths realistic) and a vector
near that paper's real one, pulled towards the other's (clusters of real structure; uniformly
random vectors would defeat any ANN index and say nothing). Queries mix very common words,
title fragments and free-text paraphrases; each is embedded by the real model.

Every measurement runs in a process of its own (Django runs on one database per process):
the corpus builds, then one serving process per engine that only opens the indexes and
answers queries, as a web worker does (so its peak RSS is the serving memory), and finally
computes recall@10 of the vector index against exact numpy search. Children hand their
figures to this process as JSON (--figures); it prints one table against the issue's goals.

--engine postgresql builds the same corpus (same seed) in a SQLite site and in PostgreSQL (a
server of its own under the data folder, made durable like a production one, or a database
in the server at --database-url), then measures SQLite mode; PostgreSQL with the embedded
engine (each node's own tantivy + faiss; a fresh node first builds its indexes from the
database, timed as its join); with --database-engine also tsvector + pgvector; and two nodes:
a second node, a real `broadsheet search-follow` on its own data folder, joins (timed), then
inserts, title edits and hides committed here are timed until that node's indexes show them,
and the follower is killed mid catch-up and restarted, to check nothing was lost.

With --data-dir D the corpora stay in D (D/sqlite, D/postgresql, the server in D/pg) and a
later run with the same --papers and --seed reuses them; the nodes' indexes are built afresh
on every run (that is the join being timed). The load average is printed with the figures:
on a shared machine, figures move with it.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import hashlib
import itertools
import json
import math
import os
import random
import shutil
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import time
import urllib.parse
from contextlib import contextmanager
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
CSV = ROOT / "broadsheet" / "papers" / "data" / "arxiv-1000.csv"  # shipped with the package
COMMON = ["learning", "neural network", "model", "deep learning", "data", "the", "training"]


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def filter_ratio(figures: dict) -> float:
    """The filtered searches' p50 over the same queries' unfiltered p50, timed in pairs (older
    figure files: over the hybrid pass)."""
    base = figures.get("unfiltered, paired") or figures["hybrid"]
    return pct(figures["filtered"], 0.5) / pct(base, 0.5)


def timed(fn, items) -> list[float]:
    out = []
    for item in items:
        t = time.perf_counter()
        fn(item)
        out.append((time.perf_counter() - t) * 1000)
    return out


def line(name: str, ms: list[float]) -> str:
    return (
        f"  {name:28} p50 {pct(ms, 0.5):7.2f} ms   p95 {pct(ms, 0.95):7.2f} ms   "
        f"p99 {pct(ms, 0.99):7.2f} ms"
    )


def load_real(
    cache_dir: Path, measure: bool = False
) -> tuple[list[tuple[str, str]], np.ndarray, float | None]:
    """The real papers and their vectors (embedded once, then cached), and with `measure`
    the embedding throughput in abstracts per second (batched, as `broadsheet embed` does):
    measured on every run, even when the vectors come from the cache."""
    from broadsheet.search.embedder import embed_texts, paper_text

    with open(CSV, newline="", encoding="utf-8") as f:
        rows = [(" ".join(r["titles"].split()), " ".join(r["summaries"].split()))
                for r in csv.DictReader(f)]  # fmt: skip
    key = hashlib.sha1(CSV.read_bytes()).hexdigest()[:12]
    cache = cache_dir / f"arxiv-1000-{key}.npy"
    if cache.exists() and not measure:
        return rows, np.load(cache), None
    embed_texts(["warm up the model"])
    t = time.perf_counter()
    vectors = embed_texts([paper_text(t_, a) for t_, a in rows])
    rate = len(rows) / (time.perf_counter() - t)
    if cache.exists():
        return rows, np.load(cache), rate  # the corpus stays built from the same vectors
    cache_dir.mkdir(parents=True, exist_ok=True)
    np.save(cache, vectors)
    return rows, vectors, rate


def generate(n: int, real, vectors: np.ndarray, rng: random.Random):
    """Yield (title, abstract, vector, published) for n generated papers."""
    nprng = np.random.default_rng(rng.randrange(2**32))
    sentences = [a.split(". ") for _, a in real]
    start = dt.datetime(2015, 1, 1, tzinfo=dt.UTC)
    for i in range(n):
        a, b = rng.randrange(len(real)), rng.randrange(len(real))
        title_words = real[a][0].split()
        other = real[b][0].split()
        if len(title_words) > 3 and other:
            title_words[rng.randrange(len(title_words))] = rng.choice(other)
        body = sentences[a][: rng.randint(3, 8)] + rng.sample(
            sentences[b], k=min(2, len(sentences[b]))
        )
        mix = rng.uniform(0.05, 0.3)
        v = (1 - mix) * vectors[a] + mix * vectors[b] + nprng.normal(0, 0.02, vectors.shape[1])
        v = (v / np.linalg.norm(v)).astype(np.float32)
        yield " ".join(title_words), ". ".join(body), v, start + dt.timedelta(minutes=37 * i)


def queries(real, rng: random.Random, count: int) -> list[str]:
    out = []
    for i in range(count):
        kind = i % 3
        title, abstract = real[rng.randrange(len(real))]
        if kind == 0:
            out.append(rng.choice(COMMON))
        elif kind == 1:
            words = title.split()
            s = rng.randrange(max(1, len(words) - 3))
            out.append(" ".join(words[s : s + rng.randint(2, 4)]))
        else:
            words = [w.strip(".,()") for w in abstract.split() if len(w) > 3]
            out.append(" ".join(rng.sample(words, k=min(5, len(words)))))
    return out


def setup_django() -> None:
    """Django on the site the environment names (the parent process sets BROADSHEET_*)."""
    os.environ.setdefault("BROADSHEET_DEBUG", "false")  # DEBUG records every SQL statement
    os.environ.setdefault("BROADSHEET_SECRET_KEY", "bench-only-secret-key")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "broadsheet.settings")
    sys.path.insert(0, str(ROOT))
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def cache_dir() -> Path:
    return Path(tempfile.gettempdir()) / "broadsheet-bench-cache"


CATEGORIES = ["cs.LG", "cs.CL", "cs.CV", "stat.ML", "cs.AI"]  # one each, in turn: 20% stat.ML


def corpus(n: int, seed: int):
    """Yield the n papers of the corpus as dicts; the same for the same n and seed."""
    real, vectors, _ = load_real(cache_dir())
    rng = random.Random(seed)
    for i, (title, abstract, v, pub) in enumerate(generate(n, real, vectors, rng)):
        cat = CATEGORIES[i % len(CATEGORIES)]
        yield {
            "slug": f"bench-{i}",
            # arXiv-shaped ids, as an import stores them (9900.00000 to 9909.99999)
            "arxiv_id": f"99{i // 100_000:02d}.{i % 100_000:05d}",
            "title": title,
            "abstract": abstract,
            "published_at": pub,
            "primary_category": cat,
            "categories": [cat],
            "vector": v,
        }


def build_sqlite(n: int, seed: int) -> dict[str, float]:
    """Papers and documents through the ORM, indexed as an import indexes them."""
    from django.db import connection, transaction
    from django.utils import timezone

    from broadsheet.papers.models import Paper
    from broadsheet.search.backends import get_backend
    from broadsheet.search.backends.base import text_hash
    from broadsheet.search.embedder import model_name
    from broadsheet.search.fields import to_blob
    from broadsheet.search.indexing import model_id

    backend = get_backend()
    # The vectors are named after the query model, as `broadsheet embed` names its own: a
    # vector of no known model is not compared with queries.
    model = model_id(model_name())
    times = {"insert": 0.0, "lexical index": 0.0}

    def flush(batch: list[dict]) -> None:
        t = time.perf_counter()
        with transaction.atomic():
            fields = ("slug", "arxiv_id", "title", "abstract", "published_at",
                      "primary_category", "categories")  # fmt: skip
            papers = Paper.objects.bulk_create(
                [Paper(**{k: row[k] for k in fields}) for row in batch]
            )
            now = timezone.now()
            with connection.cursor() as cursor:
                cursor.executemany(
                    "INSERT INTO search_document (paper_id, authors, text_hash, embedding, "
                    "embedded_at, model_id) VALUES (%s, '', %s, %s, %s, %s)",
                    [
                        (p.pk, text_hash(p.title, p.abstract), to_blob(row["vector"]), now, model)
                        for p, row in zip(papers, batch, strict=True)
                    ],  # fmt: skip
                )
            times["insert"] += time.perf_counter() - t
            t = time.perf_counter()
            backend.index_lexical([p.pk for p in papers])
            times["lexical index"] += time.perf_counter() - t

    for i, batch in enumerate(batched(corpus(n, seed), 2000)):
        flush(batch)
        progress(f"inserted {i * 2000 + len(batch):,} papers")
    progress_end()
    t = time.perf_counter()
    backend.sync_vectors(full=True)
    times["vector index"] = time.perf_counter() - t
    return times


COPY_BATCH = 20_000


def build_postgresql(n: int, seed: int) -> dict[str, float]:
    """Papers and documents with COPY, in transactions of COPY_BATCH papers: the rows an
    import stores (every other column at its model default: not hidden, no votes, ...),
    vectors included, tsvectors left NULL (database_engine_indexes() fills them in)."""
    from django.db import connection, transaction
    from django.utils import timezone
    from psycopg.adapt import Dumper
    from psycopg.pq import Format
    from psycopg.types.json import Jsonb

    from broadsheet.papers.models import Paper
    from broadsheet.search.backends.base import text_hash
    from broadsheet.search.backends.postgresql.backend import INDEXES as DATABASE_ENGINE_INDEXES
    from broadsheet.search.embedder import model_name
    from broadsheet.search.indexing import model_id

    model = model_id(model_name())
    with connection.cursor() as cursor:
        for name in DATABASE_ENGINE_INDEXES:  # dropped for the copy; the engine rebuilds them
            cursor.execute(f"DROP INDEX IF EXISTS {name}")
        cursor.execute(
            "SELECT attname, atttypid FROM pg_attribute WHERE attrelid = "
            "'search_document'::regclass AND attnum > 0"
        )
        oids = dict(cursor.fetchall())
    connection.ensure_connection()
    pg = connection.connection

    class VectorDumper(Dumper):
        """pgvector's binary form: dimensions and an unused int16, then big-endian float4s
        (a text form costs more to format than the rest of the copy)."""

        format = Format.BINARY
        oid = oids["embedding"]

        def dump(self, obj) -> bytes:
            return struct.pack(">HH", len(obj), 0) + obj.astype(">f4").tobytes()

    pg.adapters.register_dumper(np.ndarray, VectorDumper)
    # Every concrete column but the id, at its model default unless the corpus gives it.
    fields = [f for f in Paper._meta.concrete_fields if not f.primary_key]
    columns = ", ".join(f.column for f in fields)
    doc_columns = ["paper_id", "authors", "text_hash", "embedding", "embedded_at", "model_id"]
    # Binary COPY: a varchar column takes text's binary form.
    doc_types = [oids[c] if c != "text_hash" else oids["authors"] for c in doc_columns]
    times = {"copy": 0.0}
    next_id = 1
    for batch in batched(corpus(n, seed), COPY_BATCH):
        t = time.perf_counter()
        now = timezone.now()
        with transaction.atomic(), pg.cursor() as cur:
            with cur.copy(f"COPY papers_paper (id, {columns}) FROM STDIN") as copy:
                for i, row in enumerate(batch):
                    values = [next_id + i]
                    for f in fields:
                        if f.name in row:
                            value = row[f.name]
                        elif getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
                            value = now
                        else:
                            value = f.get_default()
                        values.append(Jsonb(value) if isinstance(value, list | dict) else value)
                    copy.write_row(values)
            with cur.copy(
                f"COPY search_document ({', '.join(doc_columns)}) FROM STDIN (FORMAT BINARY)"
            ) as copy:
                copy.set_types(doc_types)
                for i, row in enumerate(batch):
                    copy.write_row((next_id + i, "", text_hash(row["title"], row["abstract"]),
                                    row["vector"], now, model))  # fmt: skip
        next_id += len(batch)
        times["copy"] += time.perf_counter() - t
        progress(f"copied {next_id - 1:,} papers")
    progress_end()
    with connection.cursor() as cursor:
        cursor.execute("SELECT setval(pg_get_serial_sequence('papers_paper', 'id'), %s)", [n])
        t = time.perf_counter()
        cursor.execute("ANALYZE papers_paper")
        cursor.execute("ANALYZE search_document")
        times["analyze"] = time.perf_counter() - t
    return times


def database_engine_indexes() -> dict[str, float]:
    """The tsvectors a copied corpus lacks, then the GIN and HNSW indexes, if missing: what
    the database engine's catch_up() does on a site switched to it."""
    from django.db import connection

    from broadsheet.search.backends import get_backend
    from broadsheet.search.backends.postgresql.backend import missing_indexes

    if not missing_indexes():  # built by an earlier run on this corpus
        return {}
    with connection.cursor() as cursor:
        # HNSW builds far faster while its graph fits (1M vectors: about 2 GB).
        cursor.execute("SET maintenance_work_mem = '4GB'")
    t = time.perf_counter()
    get_backend().catch_up()
    elapsed = time.perf_counter() - t
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE search_document")
    return {"catch_up": elapsed}


def step_build(args) -> dict:
    """Build the corpus of this site unless it is there; its build figures either way."""
    from django.db import connection

    from broadsheet.papers.models import Paper

    record = Path(os.environ["BROADSHEET_DATA_DIR"]) / "build.json"
    if connection.vendor == "sqlite":  # measured on every run, the vectors cached or not
        _, _, rate = load_real(cache_dir(), measure=True)
        print(f"  embedding the 1,000 real abstracts (batched): {rate:.1f} abstracts/s")
    count = Paper.objects.count()
    if count and record.exists() and json.loads(record.read_text()).get("papers") == args.papers:
        figures = json.loads(record.read_text())
        figures["reused"] = True
        print(f"  {connection.vendor}: reusing the corpus of {count:,} papers")
    elif count:
        raise SystemExit(
            f"{connection.vendor} holds {count:,} papers but no finished build of "
            f"{args.papers:,} (an interrupted or other-sized build): remove it, or use "
            "another --data-dir"
        )
    else:
        t = time.perf_counter()
        build = build_sqlite if connection.vendor == "sqlite" else build_postgresql
        times = build(args.papers, args.seed)
        times["total"] = time.perf_counter() - t
        figures = {"papers": args.papers, "seed": args.seed, "times": times}
        record.write_text(json.dumps(figures))
        figures["reused"] = False
        print(f"  {connection.vendor} corpus built: " + seconds(times))
    if connection.vendor == "postgresql" and args.database_engine:
        times = database_engine_indexes()
        if times:  # built now; else an earlier run built them (and recorded their times)
            print("  database engine's tsvectors and indexes built: " + seconds(times))
            saved = json.loads(record.read_text())
            record.write_text(json.dumps({**saved, "database engine": times}))
            figures["database engine"] = times
    return figures


def seconds(times: dict[str, float]) -> str:
    return ", ".join(f"{k} {v:.1f} s" for k, v in times.items())


def batched(items, size: int):
    while batch := list(itertools.islice(items, size)):
        yield batch


def progress(text: str) -> None:
    print(f"\r  {text}", end="", file=sys.stderr, flush=True)


def progress_end() -> None:
    print(file=sys.stderr)


def step_join(args) -> dict:
    """A fresh node (this data folder, its indexes removed) builds its indexes from the
    database, as `broadsheet search-follow` does on its first start."""
    from broadsheet.search.backends.postgresql.follower import Follower

    pending = forget_node()
    t = time.perf_counter()
    Follower().prepare()
    took = time.perf_counter() - t
    print(f"  node 1 joined: its indexes (tantivy, faiss) built from the database in {took:.1f} s"
          f" ({pending:,} change-log rows were waiting)")  # fmt: skip
    return {"join": took, "outbox": pending}


def forget_node() -> int:
    """Remove this node's indexes and its registration: the next follower builds afresh.
    Returns the change log's length (a build reads the tables, not the log)."""
    from django.db import connection

    from broadsheet.search.backends.embedded import node_state

    folder = node_state.node_dir()
    name = node_state.read().get("node") if folder.exists() else None
    with connection.cursor() as cursor:
        if name:
            cursor.execute("DELETE FROM search_node WHERE name = %s", [name])
        cursor.execute("SELECT count(*) FROM search_outbox")
        pending = cursor.fetchone()[0]
    shutil.rmtree(folder, ignore_errors=True)
    return pending


def step_serve(args) -> dict:
    """What a web worker pays: open the indexes, embed queries, search. Warm: every query
    runs once before the timed rounds (page cache, mapped files, the model). Then, with the
    serving memory read, recall@10 of the vector index against exact search."""
    from broadsheet.search import search
    from broadsheet.search.backends import get_backend
    from broadsheet.search.embedder import embed_query
    from broadsheet.search.query import parse
    from broadsheet.search.results import Filters

    real, _, _ = load_real(cache_dir())
    qs = queries(real, random.Random(args.seed + QUERY_SEED), args.queries)
    common = qs[::3]  # every third query is one of COMMON's words
    backend = get_backend()
    out: dict = {}
    t = time.perf_counter()
    search("warm up")
    out["first query"] = (time.perf_counter() - t) * 1000
    stat_ml = Filters(category="stat.ML")
    for q in qs:
        search(q)
        search(q, stat_ml)
    out["load before"] = os.getloadavg()
    parsed = {q: parse(q) for q in qs}
    vecs = {q: embed_query(q) for q in qs}
    out["query embedding"] = timed(embed_query, qs)
    out["lexical"] = timed(lambda q: backend.lexical(parsed[q], Filters(), 100), qs)
    out["lexical common"] = timed(lambda q: backend.lexical(parsed[q], Filters(), 100), common)
    out["semantic"] = timed(lambda q: backend.semantic(vecs[q], Filters(), 100), qs)
    cpu = time.process_time()
    out["hybrid"] = timed(lambda q: search(q), qs)
    # On a loaded machine the wall time also holds waiting for a core; CPU time does not.
    out["cpu per hybrid"] = (time.process_time() - cpu) * 1000 / len(qs)
    out["hybrid common"] = timed(lambda q: search(q), common)
    # The filter's cost: each query filtered and not, one after the other, so that drift in
    # the machine's speed between two passes does not count as the filter's.
    out["filtered"], out["unfiltered, paired"] = [], []
    for q in qs:
        for name, filters in (("filtered", stat_ml), ("unfiltered, paired", Filters())):
            t = time.perf_counter()
            search(q, filters)
            out[name].append((time.perf_counter() - t) * 1000)
    # VmHWM, not ru_maxrss: Linux carries ru_maxrss over exec from the parent.
    status = Path("/proc/self/status").read_text()
    kb = {k: int(v.split()[0]) for k, v in (ln.split(":", 1) for ln in status.splitlines())
          if k in ("VmHWM", "VmRSS", "RssAnon", "RssFile")}  # fmt: skip
    out["rss"] = {k: v / 1024 for k, v in kb.items()}
    out["load after"] = os.getloadavg()
    for name in ("query embedding", "lexical", "lexical common", "semantic", "hybrid",
                 "hybrid common", "filtered", "unfiltered, paired"):  # fmt: skip
        print(line(name, out[name]))
    # The index's own figures, as the status page shows them (a folder holds older vector
    # generations for an hour after a sync).
    sizes = [f"{label} {size / 2**20:.0f} MB" for label, size in backend.status().sizes.items()]
    print(f"  first query (opens the indexes, loads the model) {out['first query']:.0f} ms; "
          + ", ".join(sizes))  # fmt: skip
    print(f"  peak RSS {out['rss']['VmHWM']:.0f} MB (private {out['rss']['RssAnon']:.0f} MB, "
          f"mapped files {out['rss']['RssFile']:.0f} MB); CPU per hybrid search "
          f"{out['cpu per hybrid']:.2f} ms")  # fmt: skip

    ids, matrix = exact_matrix()

    def exact(q: str) -> np.ndarray:
        sims = matrix @ vecs[q]
        top = np.argpartition(-sims, 10)[:10]
        return ids[top[np.argsort(-sims[top])]]

    out["exact"] = timed(exact, qs)
    recall = [len(set(exact(q).tolist()) & {pid for pid, _ in backend.semantic(vecs[q], Filters(), 10)}) / 10
              for q in qs]  # fmt: skip
    out["recall"] = statistics.mean(recall)
    out["papers"] = len(ids)
    print(f"  recall@10 against exact search: {out['recall']:.3f} "
          f"(exact numpy top 10: p50 {pct(out['exact'], 0.5):.2f} ms)")  # fmt: skip
    return out


def exact_matrix() -> tuple[np.ndarray, np.ndarray]:
    """Every stored vector, read in chunks into one float32 matrix (1M: 1.5 GB)."""
    from django.db import connection

    from broadsheet.search.fields import from_blob, from_pg_binary

    pg = connection.vendor == "postgresql"
    parse = from_pg_binary if pg else (lambda b: from_blob(bytes(b)))
    column = "vector_send(embedding)" if pg else "embedding"
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM search_document WHERE embedding IS NOT NULL")
        total = cursor.fetchone()[0]
    ids = np.empty(total, dtype=np.int64)
    matrix = np.empty((total, 384), dtype=np.float32)
    done, last = 0, -1
    while done < total:
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT paper_id, {column} FROM search_document WHERE embedding IS NOT NULL "
                "AND paper_id > %s ORDER BY paper_id LIMIT 20000",
                [last],
            )
            rows = cursor.fetchall()
        if not rows:
            break
        for pid, v in rows:
            ids[done] = pid
            matrix[done] = parse(v)
            done += 1
        last = rows[-1][0]
    return ids[:done], matrix[:done]


def step_nodes(args) -> dict:
    """Node 2: a `broadsheet search-follow` process on this data folder joins (its indexes
    built from the database, timed); then changes committed here (any node writes to the
    same database) are timed until searches on node 2's indexes (this process reads them,
    as node 2's web workers do) show them; then the follower is killed mid catch-up."""
    from django.db import connection

    from broadsheet.accounts.models import User
    from broadsheet.ingest.records import PaperRecord
    from broadsheet.ingest.upsert import upsert
    from broadsheet.papers import moderation
    from broadsheet.papers.models import Paper
    from broadsheet.search import search
    from broadsheet.search.backends.embedded import lexical_index, node_state, vectorindex
    from broadsheet.search.backends.postgresql.follower import lag
    from broadsheet.search.query import parse

    forget_node()
    out: dict = {}
    log_path = Path(os.environ["BROADSHEET_DATA_DIR"]) / "search-follow.log"
    follower = start_follower(log_path)
    try:
        t = time.perf_counter()
        wait_for(lambda: node_state.read().get("watermark") is not None, follower, 24 * 3600)
        out["join"] = time.perf_counter() - t
        print(f"  node 2 (`broadsheet search-follow`, pid {follower.pid}) joined: indexes built "
              f"from the database in {out['join']:.1f} s (process start included)")  # fmt: skip

        for q in ("warm up", "neural network", "zqwarmup"):  # the model, the opened indexes
            search(q)
        rng = random.Random()  # words no earlier run used
        moderator, _ = User.objects.get_or_create(username="bench-moderator")
        now = dt.datetime.now(dt.UTC)

        def record(word: str, doi: str, title: str) -> PaperRecord:
            return PaperRecord(title=title, abstract=f"A paper about {word} and other things.",
                               doi=doi, primary_category="cs.LG", categories=["cs.LG"],
                               published_at=now)  # fmt: skip

        def found(word: str, pid: int) -> bool:
            return any(hit.paper.pk == pid for hit in search(word).hits)

        def delay(check, timeout: float = 60.0) -> float:
            """Seconds from now (just after a commit) until check() holds."""
            t = time.perf_counter()
            while not check():
                if time.perf_counter() - t > timeout:
                    return math.inf
                time.sleep(0.01)
            return time.perf_counter() - t

        delays: dict[str, list[float]] = {"insert": [], "title edit": [], "hide": []}
        edited: dict[int, tuple] = {}  # corpus papers changed here: their rows, to put back
        for i in rng.sample(range(args.papers), args.samples):
            word, new = unique_word(rng), unique_word(rng)
            doi = f"10.99999/bench.{word}"
            upsert([record(word, doi, f"Cross-node {word} study")])
            pid = Paper.objects.get(doi=doi).pk
            delays["insert"].append(delay(lambda w=word, p=pid: found(w, p)))
            # A corpus paper re-imported with a new title: its stored vector is dropped with the
            # old text, so node 2 changes its vector index too, as for a real new version.
            paper = Paper.objects.get(slug=f"bench-{i}")
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT text_hash, embedding::text, embedded_at, model_id FROM search_document "
                    "WHERE paper_id = %s",
                    [paper.pk],
                )
                edited[paper.pk] = (paper.title, paper.published_at, *cursor.fetchone())
            # Dated no later than now: the corpus's dates run on past today beyond ~600,000
            # papers, and an import refuses a paper published in the future.
            upsert([PaperRecord(arxiv_id=paper.arxiv_id, title=f"{paper.title} {new}",
                                abstract=paper.abstract, primary_category=paper.primary_category,
                                categories=paper.categories,
                                published_at=min(paper.published_at, now))])  # fmt: skip
            delays["title edit"].append(delay(lambda w=new, p=paper.pk: found(w, p)))
            moderation.set_hidden(moderator, paper, True, "bench")
            delays["hide"].append(delay(lambda w=new, p=paper.pk: not found(w, p)))
        out["delays"] = delays
        for kind, ms in delays.items():
            print(f"  {kind:10} seen on node 2 after p50 {pct(ms, 0.5):.2f} s, max {max(ms):.2f} s")

        # Killed mid catch-up: half a burst, SIGKILL, the other half while it is down, restart.
        burst = max(2_000, min(20_000, args.papers // 50))
        word = unique_word(rng)
        records = [record(word, f"10.99999/burst.{word}.{i}", f"Burst {word} paper {i}")
                   for i in range(burst)]  # fmt: skip
        # Imported in chunks; the follower is killed as soon as it is seen with changes
        # still to index (it has been notified and is at work on them, or about to be).
        sent = 0
        while sent < burst // 2:
            upsert(records[sent : sent + 100])
            sent += 100
            if lag() > 0:
                break
        follower.send_signal(signal.SIGKILL)
        follower.wait()
        at_kill = lag()
        upsert(records[sent:])
        follower = start_follower(log_path)
        t = time.perf_counter()
        query = lexical_index.clauses_query(parse(word).clauses)

        def caught_up() -> bool:
            return lag() == 0 and len(lexical_index.search(query, burst + 10)) >= burst

        wait_for(caught_up, follower, 3600)
        out["catch up"] = time.perf_counter() - t
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM search_document WHERE embedded_at IS NOT NULL")
            vectors = cursor.fetchone()[0]
        out["kill"] = {
            "burst": burst,
            "pending at kill": at_kill,
            "sent before kill": sent,
            "burst indexed": len(lexical_index.search(query, burst + 10)),
            "lexical docs": lexical_index.searcher().num_docs,
            "papers": Paper.objects.count(),
            "vector docs": vectorindex.state().count,
            "vectors": vectors,
        }
        k = out["kill"]
        out["kill ok"] = (k["burst indexed"] == burst and k["lexical docs"] == k["papers"]
                          and k["vector docs"] == k["vectors"])  # fmt: skip
        print(
            f"  follower SIGKILLed with {at_kill:,} change-log rows not indexed ({sent:,} of a "
            f"{burst:,}-paper burst committed), the rest imported, restarted: caught up in {out['catch up']:.1f} s; burst "
            f"papers found {k['burst indexed']:,}/{burst:,}, lexical index {k['lexical docs']:,} "
            f"docs / {k['papers']:,} papers, vector index {k['vector docs']:,} / "
            f"{k['vectors']:,} vectors: {'nothing lost' if out['kill ok'] else 'MISMATCH'}"
        )
    finally:
        stop_follower(follower)

    # The database as it was: the papers of this test deleted, the edited ones put back, and
    # the nodes' registrations dropped (the next run's nodes join afresh), so that no change
    # log is kept for nodes that are gone.
    Paper.objects.filter(doi__startswith="10.99999/").delete()
    with connection.cursor() as cursor:
        for pid, (title, published, text_hash, embedding, embedded_at, model) in edited.items():
            cursor.execute(
                "UPDATE papers_paper SET title = %s, published_at = %s, hidden = false "
                "WHERE id = %s",
                [title, published, pid],
            )
            cursor.execute(
                "UPDATE search_document SET text_hash = %s, embedding = %s::vector, "
                "embedded_at = %s, model_id = %s WHERE paper_id = %s",
                [text_hash, embedding, embedded_at, model, pid],
            )
        cursor.execute("DELETE FROM search_node")
        cursor.execute("DELETE FROM search_outbox")
    return out


def unique_word(rng: random.Random) -> str:
    return "zq" + "".join(rng.choice("bcdfghjklmnpqrstvwxz") for _ in range(10))


def start_follower(log_path: Path) -> subprocess.Popen:
    with log_path.open("a") as log:
        return subprocess.Popen([str(Path(sys.executable).parent / "broadsheet"), "search-follow"],
                                stdout=log, stderr=subprocess.STDOUT)  # fmt: skip


def stop_follower(follower: subprocess.Popen) -> None:
    follower.send_signal(signal.SIGINT)
    try:
        follower.wait(30)
    except subprocess.TimeoutExpired:
        follower.kill()
        follower.wait()


def wait_for(check, follower: subprocess.Popen, timeout: float) -> None:
    t = time.perf_counter()
    while not check():
        if follower.poll() is not None:
            raise SystemExit(f"search-follow ended ({follower.returncode}); see its log")
        if time.perf_counter() - t > timeout:
            stop_follower(follower)
            raise SystemExit(f"search-follow did not get there in {timeout:.0f} s")
        time.sleep(0.02)


def calibrate(n: int, rng: random.Random) -> None:
    """Are the generated vectors shaped like real embeddings? Generates n papers, embeds
    their text with the real model, and prints the same figures for both sets: how similar
    each paper's nearest neighbours are (ANN is hard when the 10th is barely further than
    the 100th), a local intrinsic dimension estimate (Levina-Bickel, k = 10 and 50) and
    how many principal components hold 90% of the variance."""
    from broadsheet.search.embedder import embed_texts, paper_text

    real, vectors, _ = load_real(cache_dir())
    papers = list(generate(n, real, vectors, rng))
    t = time.perf_counter()
    embedded = embed_texts([paper_text(title, abstract) for title, abstract, _, _ in papers])
    print(f"Calibration: {n:,} generated papers, embedded in {time.perf_counter() - t:.0f} s")
    synthetic = np.stack([v for _, _, v, _ in papers])
    ranks = [r for r in (1, 2, 5, 10, 50, 100) if r < n]
    print("  median cosine of the k-th nearest neighbour: " + ", ".join(f"k={r}" for r in ranks))
    for name, matrix in (("real embeddings", embedded), ("generated vectors", synthetic)):
        m = matrix.astype(np.float64)
        sims = m @ m.T
        np.fill_diagonal(sims, -2.0)
        sims = -np.sort(-sims, axis=1)
        near = " ".join(f"{np.median(sims[:, r - 1]):.3f}" for r in ranks)
        centred = m - m.mean(axis=0)
        variance = np.cumsum(np.linalg.svd(centred, compute_uv=False) ** 2)
        components = int(np.searchsorted(variance / variance[-1], 0.9)) + 1
        print(
            f"  {name:18} {near}   LID k=10 {_lid(sims, 10):.1f}, k=50 {_lid(sims, 50):.1f}"
            f"   90% of variance in {components} components"
        )
    same = np.median(np.sum(embedded * synthetic, axis=1))
    print(f"  median cosine between a paper's generated vector and its real embedding: {same:.3f}")


def _lid(sorted_sims: np.ndarray, k: int) -> float:
    distances = np.sqrt(np.maximum(2 - 2 * sorted_sims[:, :k], 1e-12))
    return float(np.median(-1 / np.mean(np.log(distances / distances[:, -1:]), axis=1)))


# Goals of issue 20 at 1M papers (PostgreSQL 16 + pgvector).
GOALS = {"hybrid p50": 20.0, "hybrid p99": 60.0, "recall": 0.95, "filter ratio": 1.5,
         "delay": 5.0}  # fmt: skip
QUERY_SEED = 1_000_003  # queries come from seed + this, the corpus from the seed itself


def child(step: str, data_dir: Path, url: str, engine: str, args) -> dict:
    """Run one step of this script in a process of its own on the site in data_dir; its
    figures come back as JSON."""
    data_dir.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items()
           if k not in ("BROADSHEET_DATA_DIR", "BROADSHEET_DATABASE_URL",
                        "BROADSHEET_SEARCH_ENGINE")}  # fmt: skip
    env.update(BROADSHEET_DATA_DIR=str(data_dir), BROADSHEET_SEARCH_ENGINE=engine,
               BROADSHEET_LOG_LEVEL="WARNING", PYTHONPATH=str(ROOT))  # fmt: skip
    if url:
        env["BROADSHEET_DATABASE_URL"] = url
    with tempfile.NamedTemporaryFile(suffix=".json") as figures:
        done = subprocess.run(
            [sys.executable, __file__, "--step", step, "--figures", figures.name,
             "--papers", str(args.papers), "--seed", str(args.seed), "--queries",
             str(args.queries), "--samples", str(args.samples)]
            + (["--database-engine"] if args.database_engine else []),
            env=env,
        )  # fmt: skip
        if done.returncode:
            raise SystemExit(f"the {step} step on {data_dir} failed (exit {done.returncode})")
        return json.loads(Path(figures.name).read_text())


@contextmanager
def postgresql(data_dir: Path, url: str, keep: bool):
    """A URL to the benchmark's database: in the server at `url`, or in a server of its own
    in data_dir/pg (started again on a later run with the same --data-dir). The database
    stays for a later run when `keep`."""
    import psycopg

    sys.path.insert(0, str(ROOT / "tests"))
    import pgserver

    server = None
    if not url:
        server = data_dir / "pg"
        url = pgserver.start(server)
        with psycopg.connect(url, autocommit=True) as conn:
            # The test server trades durability for speed; measure what production runs.
            for name in ("fsync", "full_page_writes", "synchronous_commit"):
                conn.execute(f"ALTER SYSTEM SET {name} = on")
            conn.execute("SELECT pg_reload_conf()")
    name = "bench_search"
    with psycopg.connect(url, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
        version = conn.execute("SHOW server_version").fetchone()[0]
    print(f"  PostgreSQL {version}, database {name}" + (f" in {server}" if server else ""))
    try:
        yield urllib.parse.urlunsplit(urllib.parse.urlsplit(url)._replace(path=f"/{name}"))
    finally:
        if not keep:
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if server is not None:
            pgserver.stop(server)


def run(args) -> None:
    keep = args.data_dir is not None
    data = (args.data_dir or Path(tempfile.mkdtemp(prefix="broadsheet-bench-"))).resolve()
    if not keep:
        data.chmod(0o755)  # the bundled server, run as root, runs as `nobody` (tests/pgserver.py)
    started = time.perf_counter()
    print(f"Search benchmark: {args.papers:,} papers, engine {args.engine}, data in {data}, "
          f"load average {load()}")  # fmt: skip
    columns: dict[str, dict] = {}
    builds: dict[str, dict] = {}
    nodes = None
    try:
        builds["SQLite"] = child("build", data / "sqlite", "", "database", args)
        if args.engine == "sqlite":
            print("SQLite, serving process:")
            columns["SQLite"] = child("serve", data / "sqlite", "", "database", args)
        else:
            nodes = measure_postgresql(args, data, keep, columns, builds)
    finally:
        if not keep:
            shutil.rmtree(data, ignore_errors=True)
    sqlite_build = builds["SQLite"]["times"]
    columns["SQLite"]["index build"] = sqlite_build.get("lexical index", 0) + sqlite_build.get(
        "vector index", 0
    )
    report(args, columns, builds, nodes)
    print(f"Run took {(time.perf_counter() - started) / 60:.1f} min; load average {load()}")


def measure_postgresql(args, data: Path, keep: bool, columns: dict, builds: dict) -> dict:
    """The PostgreSQL corpus, SQLite mode, then each PostgreSQL engine, then two nodes."""
    with postgresql(data, args.database_url, keep) as url:
        builds["PostgreSQL"] = pg = child("build", data / "postgresql", url, "database", args)
        print("SQLite, serving process:")
        columns["SQLite"] = child("serve", data / "sqlite", "", "database", args)
        print("PostgreSQL, embedded engine (node 1):")
        node1 = data / "postgresql" / "node1"
        joined = child("join", node1, url, "embedded", args)
        columns["PostgreSQL embedded"] = child("serve", node1, url, "embedded", args)
        columns["PostgreSQL embedded"]["index build"] = joined["join"]
        if args.database_engine:
            print("PostgreSQL, database engine (tsvector GIN, pgvector HNSW):")
            columns["PostgreSQL database"] = child(
                "serve", data / "postgresql" / "web", url, "database", args
            )
            columns["PostgreSQL database"]["index build"] = sum(
                pg.get("database engine", {}).values()
            )
        print("Two nodes (node 2: `broadsheet search-follow` on its own data folder):")
        return child("nodes", data / "postgresql" / "node2", url, "embedded", args)


def report(args, columns: dict[str, dict], builds: dict[str, dict], nodes: dict | None) -> None:
    """One table, an engine a column, against the goals."""

    def verdict(ok: bool) -> str:
        return "met" if ok else "NOT MET"

    def ms(name: str, q: float, goal: float | None = None):
        def cell(c: dict) -> str:
            v = pct(c[name], q)
            return f"{v:.2f}" + (f" {verdict(v <= goal)}" if goal is not None else "")

        return cell

    rows = [
        (f"hybrid p50 (goal <= {GOALS['hybrid p50']:.0f} ms)", ms("hybrid", 0.5, GOALS["hybrid p50"])),
        ("hybrid p95", ms("hybrid", 0.95)),
        (f"hybrid p99 (goal <= {GOALS['hybrid p99']:.0f} ms)", ms("hybrid", 0.99, GOALS["hybrid p99"])),
        ("hybrid, common words p50", ms("hybrid common", 0.5, GOALS["hybrid p50"])),
        ("hybrid, common words p99", ms("hybrid common", 0.99, GOALS["hybrid p99"])),
        ("lexical top 100 p50", ms("lexical", 0.5)),
        ("lexical top 100 p99", ms("lexical", 0.99)),
        ("lexical, common words p50 / p99",
         lambda c: f"{pct(c['lexical common'], 0.5):.2f} / {pct(c['lexical common'], 0.99):.2f}"),
        ("semantic top 100 p50", ms("semantic", 0.5)),
        (f"recall@10 (goal >= {GOALS['recall']})",
         lambda c: f"{c['recall']:.3f} {verdict(c['recall'] >= GOALS['recall'])}"),
        ("category filter p50", ms("filtered", 0.5)),
        ("category filter p99", ms("filtered", 0.99)),
        (f"filter p50 / unfiltered p50, paired (goal <= {GOALS['filter ratio']}x)", lambda c: (
            f"{filter_ratio(c):.2f}x " + verdict(filter_ratio(c) <= GOALS["filter ratio"]))),
        ("node index build (s)", lambda c: f"{c['index build']:.1f}"),
        ("serving peak RSS (MB)", lambda c: f"{c['rss']['VmHWM']:.0f}"),
        ("  of which private (MB)", lambda c: f"{c['rss']['RssAnon']:.0f}"),
        ("CPU per hybrid search (ms)", lambda c: f"{c['cpu per hybrid']:.2f}"),
        ("load average (1 min) before-after",
         lambda c: f"{c['load before'][0]:.2f}-{c['load after'][0]:.2f}"),
    ]  # fmt: skip
    names = list(columns)
    width = max(len(label) for label, _ in rows) + 2
    print(f"\nSearch at {args.papers:,} papers, {args.queries} queries (milliseconds unless "
          f"noted; goals of issue 20, set for 1M papers):")  # fmt: skip
    print(" " * width + "".join(f"{n:>24}" for n in names))
    for label, cell in rows:
        print(f"{label:{width}}" + "".join(f"{cell(columns[n]):>24}" for n in names))
    for name, build in builds.items():
        how = "reused from an earlier run: " if build.get("reused") else ""
        extra = build.get("database engine") if args.database_engine else None
        print(f"  corpus build, {name}: {how}{seconds(build['times'])}"
              + (f"; tsvectors and indexes {seconds(extra)}" if extra else ""))  # fmt: skip
    if nodes is None:
        return
    goal = GOALS["delay"]
    print(f"Two nodes: node 2 joined in {nodes['join']:.1f} s; a change committed, until node 2's "
          f"search shows it ({args.samples} samples each, goal <= {goal:.0f} s):")  # fmt: skip
    for kind, values in nodes["delays"].items():
        print(f"  {kind:10} p50 {pct(values, 0.5):.2f} s, max {max(values):.2f} s "
              f"{verdict(max(values) <= goal)}")  # fmt: skip
    k = nodes["kill"]
    print(
        f"  follower SIGKILLed mid catch-up ({k['pending at kill']:,} log rows pending, "
        f"{k['sent before kill']:,} of {k['burst']:,} burst papers in), the rest imported, "
        f"restarted, caught up in {nodes['catch up']:.1f} s: "
        + ("nothing lost" if nodes["kill ok"] else f"MISMATCH {k}")
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--papers", type=int, default=100_000, help="corpus size (100,000)")
    parser.add_argument("--queries", type=int, default=300, help="queries per measure (300)")
    parser.add_argument("--engine", choices=["sqlite", "postgresql"], default="sqlite",
                        help="sqlite (default): SQLite mode only; postgresql: the same corpus in "
                             "SQLite and PostgreSQL, side by side, and two nodes")  # fmt: skip
    parser.add_argument("--database-engine", action="store_true",
                        help="with --engine postgresql, also measure the tsvector + pgvector "
                             "engine (fills in the tsvectors and builds GIN and HNSW)")  # fmt: skip
    parser.add_argument("--database-url", default="",
                        help="a PostgreSQL server to use (database bench_search in it) instead "
                             "of starting one in the data folder")  # fmt: skip
    parser.add_argument("--samples", type=int, default=20,
                        help="cross-node changes timed per kind (20)")  # fmt: skip
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="where the corpora go, kept for reuse (a temporary folder, "
                             "removed at the end, by default)")  # fmt: skip
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--calibrate", type=int, metavar="N", default=0,
                        help="compare N generated vectors with real embeddings of the same "
                             "generated papers, then stop")  # fmt: skip
    # A step run in a child process (run() starts them).
    parser.add_argument("--step", choices=["build", "serve", "join", "nodes"],
                        help=argparse.SUPPRESS)  # fmt: skip
    parser.add_argument("--figures", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.calibrate:
        os.environ.setdefault("BROADSHEET_DATA_DIR", tempfile.mkdtemp(prefix="broadsheet-bench-"))
        setup_django()
        calibrate(args.calibrate, random.Random(args.seed))
    elif args.step:
        setup_django()
        steps = {"build": step_build, "serve": step_serve, "join": step_join, "nodes": step_nodes}
        figures = steps[args.step](args)
        args.figures.write_text(json.dumps(figures))
    else:
        run(args)


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


if __name__ == "__main__":
    main()
