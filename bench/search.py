"""Search benchmark: a generated corpus shaped like arXiv, then query latency and ANN recall.

    .venv/bin/python bench/search.py                    # 100,000 papers, SQLite, ~5 minutes
    .venv/bin/python bench/search.py --papers 1000000   # the issue's target size
    .venv/bin/python bench/search.py --papers 1000000 --data-dir D   # reuses a corpus built in D
    BROADSHEET_DATABASE_URL=postgres://... .venv/bin/python bench/search.py --papers 20000
    BROADSHEET_SEARCH_ENGINE=embedded BROADSHEET_DATABASE_URL=... bench/search.py --data-dir D
        # the same corpus (built by the run above in D) from node-local indexes
    .venv/bin/python bench/search.py --calibrate 3000   # generated vectors vs real embeddings

The corpus: the 1,000 real abstracts of broadsheet/papers/data/arxiv-1000.csv are embedded once
(cached beside the database), then each generated paper takes a real paper's sentences mixed
with another's (so word frequencies stay Zipf-like and lengths realistic) and a vector near
that paper's real one, pulled towards the other's (clusters of real structure; uniformly
random vectors would defeat any ANN index and say nothing). Queries mix very common words,
title fragments and free-text paraphrases; each is embedded by the real model.

Prints build times, p50/p95/p99 latency for lexical, semantic (the vector index and exact numpy brute
force, measured in the same run) and hybrid (full search(), query embedding included),
recall@10 of the vector index against exact search, memory, and embedding throughput. The serving
figures come from a second process that only opens the indexes and answers queries (as a web
worker does), so its peak RSS is the serving memory. The load average is printed with them:
on a shared machine, figures move with it.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import hashlib
import itertools
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
CSV = ROOT / "broadsheet" / "papers" / "data" / "arxiv-1000.csv"  # shipped with the package
COMMON = ["learning", "neural network", "model", "deep learning", "data", "the", "training"]


def setup_django(data_dir: Path) -> None:
    os.environ.setdefault("BROADSHEET_DATA_DIR", str(data_dir))
    # As a web worker runs: DEBUG would record and format every SQL statement.
    os.environ.setdefault("BROADSHEET_DEBUG", "false")
    os.environ.setdefault("BROADSHEET_SECRET_KEY", "bench-only-secret-key")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "broadsheet.settings")
    sys.path.insert(0, str(ROOT))
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


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


def build(n: int, real, vectors, rng: random.Random) -> dict[str, float]:
    from django.db import connection, transaction
    from django.utils import timezone

    from broadsheet.papers.models import Paper
    from broadsheet.search.backends import get_backend
    from broadsheet.search.backends.base import text_hash
    from broadsheet.search.embedder import model_name
    from broadsheet.search.fields import VectorField
    from broadsheet.search.indexing import model_id

    backend = get_backend()
    field = VectorField()
    # The vectors are named after the query model, as `broadsheet embed` names its own: a
    # vector of no known model is not compared with queries.
    model = model_id(model_name())
    cast = "::vector" if connection.vendor == "postgresql" else ""
    times = {"insert": 0.0, "lexical": 0.0}
    batch: list = []
    serial = itertools.count()
    cats = ["cs.LG", "cs.CL", "cs.CV", "stat.ML", "cs.AI"]

    def flush():
        t = time.perf_counter()
        with transaction.atomic():
            papers = Paper.objects.bulk_create(
                [
                    Paper(
                        slug=f"bench-{next(serial)}",
                        title=ti,
                        abstract=ab,
                        published_at=pub,
                        primary_category=c,
                        categories=[c],
                    )  # fmt: skip
                    for ti, ab, _, pub, c in batch
                ]  # fmt: skip
            )
            now = timezone.now()
            with connection.cursor() as cursor:
                cursor.executemany(
                    "INSERT INTO search_document (paper_id, authors, text_hash, embedding, "
                    f"embedded_at, model_id) VALUES (%s, '', %s, %s{cast}, %s, %s)",
                    [
                        (
                            p.pk,
                            text_hash(p.title, p.abstract),
                            field.get_db_prep_value(row[2], connection),
                            now,
                            model,
                        )
                        for p, row in zip(papers, batch, strict=True)
                    ],  # fmt: skip
                )
            times["insert"] += time.perf_counter() - t
            t = time.perf_counter()
            backend.index_lexical([p.pk for p in papers])
            times["lexical"] += time.perf_counter() - t

    for i, (title, abstract, v, pub) in enumerate(generate(n, real, vectors, rng)):
        batch.append((title, abstract, v, pub, cats[i % len(cats)]))
        if len(batch) == 2000:
            flush()
            batch = []
            print(f"\r  inserted {i + 1:,} papers", end="", file=sys.stderr, flush=True)
    if batch:
        flush()
    print(file=sys.stderr)
    t = time.perf_counter()
    backend.sync_vectors(full=True)
    times["vector index"] = time.perf_counter() - t
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE search_document")
    return times


def exact_matrix() -> tuple[np.ndarray, np.ndarray]:
    from django.db import connection

    from broadsheet.search.fields import from_blob, from_pg_text

    with connection.cursor() as cursor:
        cursor.execute("SELECT paper_id, embedding FROM search_document ORDER BY paper_id")
        rows = cursor.fetchall()
    parse = from_pg_text if connection.vendor == "postgresql" else lambda b: from_blob(bytes(b))
    return np.array([r[0] for r in rows]), np.stack([parse(r[1]) for r in rows])


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--papers", type=int, default=100_000, help="corpus size (100,000)")
    parser.add_argument("--queries", type=int, default=300, help="queries per measure (300)")
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="where the database goes (a temporary folder by default)")  # fmt: skip
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--serve", action="store_true",
                        help="only open the indexes in --data-dir and time queries")  # fmt: skip
    parser.add_argument("--calibrate", type=int, metavar="N", default=0,
                        help="compare N generated vectors with real embeddings of the same "
                             "generated papers, then stop")  # fmt: skip
    args = parser.parse_args()
    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="broadsheet-bench-"))
    setup_django(data_dir)
    if args.serve:
        serve(args)
        return
    if args.calibrate:
        calibrate(args.calibrate, random.Random(args.seed))
        return

    from django.db import connection

    from broadsheet.search import search
    from broadsheet.search.backends import get_backend
    from broadsheet.search.embedder import embed_query
    from broadsheet.search.query import parse
    from broadsheet.search.results import Filters

    rng = random.Random(args.seed)
    engine = " (engine: this node's indexes)" if node_local() else ""
    print(
        f"Search benchmark: {args.papers:,} papers, {connection.vendor}{engine}, data in {data_dir}"
    )
    time.perf_counter()
    real, vectors, rate = load_real(
        Path(tempfile.gettempdir()) / "broadsheet-bench-cache", measure=True
    )
    print(f"  embedding the 1,000 real abstracts (batched): {rate:.1f} abstracts/s")
    embed_query("warm up the model")
    qs = queries(real, rng, args.queries)
    q_ms = timed(embed_query, qs)
    print(line("query embedding", q_ms))
    from broadsheet.papers.models import Paper

    if Paper.objects.count() >= args.papers:
        print(f"  reusing the corpus in {data_dir} ({Paper.objects.count():,} papers)")
    else:
        times = build(args.papers, real, vectors, rng)
        print("  build: " + ", ".join(f"{k} {v:.1f} s" for k, v in times.items()))
    if node_local():
        from broadsheet.search.backends.postgresql.follower import Follower

        t = time.perf_counter()
        Follower().prepare()  # a fresh node builds its indexes from the database
        print(f"  this node's indexes (tantivy, faiss) built in {time.perf_counter() - t:.1f} s")
    print(f"  load average {load()}")

    backend = get_backend()
    qvecs = {q: embed_query(q) for q in qs}
    parsed = {q: parse(q) for q in qs}
    for q in qs[:20]:  # warm caches (page cache, the mapped index, SQLite statements)
        search(q)
    lexical_ms = timed(lambda q: backend.lexical(parsed[q], Filters(), 100), qs)
    common_ms = timed(lambda q: backend.lexical(parsed[q], Filters(), 100), qs[::3])
    print(line("lexical (top 100)", lexical_ms))
    print(line("  of which common words", common_ms))
    ids, matrix = exact_matrix()

    def brute(q: str) -> np.ndarray:
        sims = matrix @ qvecs[q]
        top = np.argpartition(-sims, 10)[:10]
        return ids[top[np.argsort(-sims[top])]]

    exact_ms = timed(brute, qs)
    ann_ms = timed(lambda q: backend.semantic(qvecs[q], Filters(), 100), qs)
    name = "faiss IVF" if connection.vendor == "sqlite" or node_local() else "pgvector HNSW"
    print(line(f"semantic, {name} (top 100)", ann_ms))
    print(line("semantic, exact numpy (top 10)", exact_ms))
    print(f"  brute force / ANN p50 ratio: {pct(exact_ms, 0.5) / pct(ann_ms, 0.5):.1f}x")
    recall = []
    for q in qs:
        truth = set(brute(q).tolist())
        got = {pid for pid, _ in backend.semantic(qvecs[q], Filters(), 10)}
        recall.append(len(truth & got) / 10)
    print(f"  recall@10 of {name} vs exact: {statistics.mean(recall):.3f}")
    hybrid_ms = timed(lambda q: search(q), qs)
    print(line("hybrid search() incl. embedding", hybrid_ms))
    print(line("  of which common words", timed(lambda q: search(q), qs[::3])))
    filtered_ms = timed(lambda q: search(q, Filters(category="stat.ML")), qs[:60])
    print(line("hybrid with a category filter", filtered_ms))
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"  peak memory of this process: {rss:.0f} MB (includes the exact matrix and model)")
    # The index's own figures, as the status page shows them (a folder holds older vector
    # generations for an hour after a sync, so the build's last one or two).
    sizes = [f"{label} {size / 2**20:.0f} MB" for label, size in backend.status().sizes.items()]
    if connection.vendor == "sqlite":
        sizes.append(
            f"database {Path(connection.settings_dict['NAME']).stat().st_size / 2**20:.0f} MB"
        )
    print("  " + ", ".join(sizes))
    print(f"  load average {load()}")
    print("Serving process (opens the indexes, answers queries; nothing else loaded):")
    sys.stdout.flush()
    subprocess.run([sys.executable, __file__, "--serve", "--data-dir", str(data_dir),
                    "--queries", str(args.queries), "--seed", str(args.seed)], check=True)  # fmt: skip


def calibrate(n: int, rng: random.Random) -> None:
    """Are the generated vectors shaped like real embeddings? Generates n papers, embeds
    their text with the real model, and prints the same figures for both sets: how similar
    each paper's nearest neighbours are (ANN is hard when the 10th is barely further than
    the 100th), a local intrinsic dimension estimate (Levina-Bickel, k = 10 and 50) and
    how many principal components hold 90% of the variance."""
    from broadsheet.search.embedder import embed_texts, paper_text

    real, vectors, _ = load_real(Path(tempfile.gettempdir()) / "broadsheet-bench-cache")
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


def node_local() -> bool:
    """PostgreSQL serving search from this node's own indexes (BROADSHEET_SEARCH_ENGINE)."""
    from django.conf import settings
    from django.db import connection

    return connection.vendor == "postgresql" and settings.SEARCH_ENGINE == "embedded"


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def serve(args) -> None:
    """What a web worker pays: open the indexes, embed queries, search. Warm: every query
    runs once before the timed rounds (page cache, mapped files, the model)."""
    from broadsheet.search import search
    from broadsheet.search.backends import get_backend
    from broadsheet.search.embedder import embed_query
    from broadsheet.search.query import parse
    from broadsheet.search.results import Filters

    rng = random.Random(args.seed)
    real, _, _ = load_real(Path(tempfile.gettempdir()) / "broadsheet-bench-cache")
    qs = queries(real, rng, args.queries)
    backend = get_backend()
    t = time.perf_counter()
    search("warm up")
    print(
        f"  first query (opens indexes, loads the model): {(time.perf_counter() - t) * 1000:.0f} ms"
    )
    for q in qs:
        search(q)
    print(f"  load average {load()}")
    parsed = {q: parse(q) for q in qs}
    vecs = {q: embed_query(q) for q in qs}
    print(line("query embedding", timed(embed_query, qs)))
    lexical_ms = timed(lambda q: backend.lexical(parsed[q], Filters(), 100), qs)
    print(line("lexical (top 100)", lexical_ms))
    print(
        line(
            "  of which common words",
            timed(lambda q: backend.lexical(parsed[q], Filters(), 100), qs[::3]),
        )
    )
    print(
        line(
            "semantic (top 100, no embedding)",
            timed(lambda q: backend.semantic(vecs[q], Filters(), 100), qs),
        )
    )
    cpu = time.process_time()
    hybrid_ms = timed(lambda q: search(q), qs)
    cpu = (time.process_time() - cpu) * 1000 / len(qs)
    print(line("hybrid search() incl. embedding", hybrid_ms))
    # On a loaded machine the wall time also holds waiting for a core; CPU time does not.
    print(f"  CPU time per hybrid search (every thread): {cpu:.2f} ms")
    print(line("  of which common words", timed(lambda q: search(q), qs[::3])))
    print(
        line(
            "hybrid, category filter",
            timed(lambda q: search(q, Filters(category="stat.ML")), qs[:60]),
        )
    )
    # VmHWM, not ru_maxrss: Linux carries ru_maxrss over exec from the parent, whose peak
    # includes the exact matrix.
    status = Path("/proc/self/status").read_text()
    kb = {k: int(v.split()[0]) for k, v in (ln.split(":", 1) for ln in status.splitlines())
          if k in ("VmHWM", "VmRSS", "RssAnon", "RssFile")}  # fmt: skip
    print(
        f"  serving memory: peak RSS {kb['VmHWM'] / 1024:.0f} MB, now {kb['VmRSS'] / 1024:.0f} MB"
        f" (private {kb['RssAnon'] / 1024:.0f} MB; mapped files, shared page cache: the"
        f" vector index and SQLite, {kb['RssFile'] / 1024:.0f} MB)"
    )
    print(f"  load average {load()}")


if __name__ == "__main__":
    main()
