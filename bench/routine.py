"""Benchmark: a day's routine of a big site: the New view ranked for its members, its page, the
channels' messages, and the filtered feed, over N papers.

    .venv/bin/python bench/routine.py [--papers 100000] [--arrivals 800] [--members 10000]
                                      [--histories 1000] [--channels 1000]
                                      [--engine sqlite|postgresql]

A fresh site (SQLite, or the bundled PostgreSQL 16 of the test extra) with N papers generated
from the package's 1,000 real arXiv abstracts and their shipped MiniLM vectors (each paper a
real one's sentences mixed with another's, its vector near the first's, pulled towards the
second's, its categories the first's), stored with their vectors and in the lexical index.
Two days of arrivals (`Paper.arrived_on`) in the site's categories, --arrivals each; 3,000
listings over 30 days (300 today, with votes). --members members, of whom --histories have
a history in one field (15 upvotes, 5 saved papers, a 10-paper imported library, 3
"not interested"). Then:

(a) `arrivals_ranked()` (the New view's order) for every member with a history; baseline in
    the same run: the same call for members without one (the unranked recency listing);
(b) the New view page through Django's test client for members with a history: p50/p95 and
    SQL queries; baseline: the same page for an anonymous reader;
(c) --channels channels (top N, saved search, New; one in ten with a filter) made and sent by
    `broadsheet send-channels` (a subprocess, as the worker runs it) to a local HTTP receiver
    (json://127.0.0.1:PORT/c/<channel id>, BROADSHEET_CHANNEL_ALLOW_PRIVATE_HOSTS=true) that
    counts every POST by path: each non-empty run must arrive exactly once; baseline: the
    same number of POSTs of the same size to the same receiver from plain http.client, on as
    many threads as BROADSHEET_CHANNEL_PARALLEL;
(d) the month feed and the New view with a keyword filter (PaperFilter include/exclude) and
    without: the unfiltered page is the baseline.
"""

from __future__ import annotations

import argparse
import ast
import csv
import datetime as dt
import http.client
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
from sitelib import BIN, PostgreSQL, django_in_process, free_port

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "broadsheet" / "papers" / "data"
SITE_CATEGORIES = "cs.CV,cs.LG,stat.ML,cs.CL,cs.AI"
STOP = set("a an the of for and in on with to from by via is are we our its using towards".split())

RECEIVER = r"""
import json, sys, threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
counts, lock = Counter(), threading.Lock()
class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        with lock:
            counts[self.path] += 1
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")
    def log_message(self, *args):
        pass
server = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler)
server.daemon_threads = True
threading.Thread(target=server.serve_forever, daemon=True).start()
print("ready", flush=True)
for line in sys.stdin:
    with lock:
        print(json.dumps(counts), flush=True)
        counts.clear()
"""


def pct(values: list[float], q: int) -> float:
    if len(values) < 2:
        return values[0] * 1000 if values else float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] * 1000


def line(values: list[float]) -> str:
    return f"n={len(values):5d}  p50 {pct(values, 50):7.1f} ms  p95 {pct(values, 95):7.1f} ms"


def load_real() -> tuple[list[tuple[str, str, list[str]]], np.ndarray]:
    with (DATA / "arxiv-1000.csv").open(newline="", encoding="utf-8") as f:
        rows = [
            (" ".join(r["titles"].split()), " ".join(r["summaries"].split()),
             ast.literal_eval(r["terms"]))
            for r in csv.DictReader(f)
        ]  # fmt: skip
    vectors = np.load(DATA / "arxiv-1000-vectors.npy").astype(np.float32)
    return rows, vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def build_corpus(n: int, arrivals: int, real, vectors, rng: random.Random) -> dict:
    """N papers with vectors and lexical entries; the last 2 * arrivals arrived yesterday and
    today. Returns {"field": base real category per paper id, "today": ids, "yesterday": ids}."""
    from django.db import connection, transaction
    from django.utils import timezone

    from broadsheet.papers.models import Paper
    from broadsheet.search.backends import get_backend
    from broadsheet.search.backends.base import text_hash
    from broadsheet.search.fields import VectorField

    backend = get_backend()
    field = VectorField()
    cast = "::vector" if connection.vendor == "postgresql" else ""
    nprng = np.random.default_rng(rng.randrange(2**32))
    sentences = [a.split(". ") for _, a, _ in real]
    now = timezone.now()
    today = timezone.localdate()
    wanted = set(SITE_CATEGORIES.split(","))
    in_site = [i for i, (_, _, cats) in enumerate(real) if cats[0] in wanted]
    fields: dict[int, str] = {}
    days: dict[str, list[int]] = {"today": [], "yesterday": []}
    first_arrival = n - 2 * arrivals
    batch: list[tuple] = []

    def flush() -> None:
        with transaction.atomic():
            papers = Paper.objects.bulk_create([row[0] for row in batch])
            with connection.cursor() as cursor:
                cursor.executemany(
                    "INSERT INTO search_document (paper_id, authors, text_hash, embedding, "
                    f"embedded_at) VALUES (%s, %s, %s, %s{cast}, %s)",
                    [
                        (
                            p.pk,
                            "",
                            text_hash(p.title, p.abstract),
                            field.get_db_prep_value(v, connection),
                            now,
                        )
                        for p, (_, v, _, _) in zip(papers, batch, strict=True)
                    ],  # fmt: skip
                )
            backend.index_lexical([p.pk for p in papers])
        for p, (_, _, base, day) in zip(papers, batch, strict=True):
            fields[p.pk] = base
            if day:
                days[day].append(p.pk)
        batch.clear()

    for i in range(n):
        arrival = i >= first_arrival
        a = rng.choice(in_site) if arrival else rng.randrange(len(real))
        b = rng.randrange(len(real))
        title = real[a][0].split()
        other = real[b][0].split()
        if len(title) > 3 and other:
            title[rng.randrange(len(title))] = rng.choice(other)
        body = sentences[a][: rng.randint(3, 8)] + rng.sample(
            sentences[b], min(2, len(sentences[b]))
        )
        mix = rng.uniform(0.05, 0.3)
        v = (1 - mix) * vectors[a] + mix * vectors[b] + nprng.normal(0, 0.02, vectors.shape[1])
        v = (v / np.linalg.norm(v)).astype(np.float32)
        day = None
        if arrival:
            day = "today" if i >= first_arrival + arrivals else "yesterday"
            published = now - dt.timedelta(hours=(1 if day == "today" else 25) + rng.random() * 20)
        else:
            published = now - dt.timedelta(days=3 + rng.random() * 1000)
        cats = real[a][2]
        paper = Paper(
            slug=f"bench-{i}", arxiv_id=f"{2000 + i // 100000}.{i % 100000:05d}",
            title=" ".join(title), abstract=". ".join(body),
            primary_category=cats[0], categories=cats, published_at=published,
            arrived_on=(today if day == "today" else today - dt.timedelta(days=1)) if day else None,
        )  # fmt: skip
        batch.append((paper, v, cats[0], day))
        if len(batch) == 2000:
            flush()
            print(f"\r  {i + 1:,} papers", end="", file=sys.stderr, flush=True)
    if batch:
        flush()
    print(file=sys.stderr)
    # No vector index (faiss/HNSW) is built: nothing measured here uses it (the New view
    # scores the day's arrivals exactly, saved searches run by words).
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    return {"field": fields, **days}


def build_members(corpus: dict, members: int, histories: int, rng: random.Random) -> list:
    from django.utils import timezone

    from broadsheet.accounts.models import User
    from broadsheet.papers.models import (
        Collection,
        CollectionItem,
        Dismissal,
        Listing,
        Paper,
        Upvote,
    )  # fmt: skip

    now = timezone.now()
    today = timezone.localdate()
    User.objects.bulk_create(
        User(username=f"m{i:05d}", email=f"m{i:05d}@example.org", password="!")
        for i in range(members)
    )  # fmt: skip
    users = list(User.objects.filter(username__startswith="m").order_by("username"))
    by_field: dict[str, list[int]] = {}
    for pid, f in corpus["field"].items():
        by_field.setdefault(f, []).append(pid)
    big = [f for f, ids in by_field.items() if len(ids) >= 200]
    every = list(corpus["field"])
    upvotes, items, dismissals = [], [], []
    for i, user in enumerate(users[:histories]):
        mine = rng.sample(by_field[rng.choice(big)], 30)
        for k, pid in enumerate(mine[:15]):
            upvotes.append(Upvote(user=user, paper_id=pid, created=now - dt.timedelta(hours=k)))
        saved = Collection.objects.create(owner=user, name="Reading")
        library = Collection.objects.create(owner=user, name="Library", source=f"file:{i}.bib")
        items += [CollectionItem(collection=saved, paper_id=pid) for pid in mine[15:20]]
        items += [CollectionItem(collection=library, paper_id=pid) for pid in mine[20:]]
        dismissals += [Dismissal(user=user, paper_id=pid) for pid in rng.sample(every, 3)]
    Upvote.objects.bulk_create(upvotes, batch_size=2000)
    CollectionItem.objects.bulk_create(items, batch_size=2000)
    Dismissal.objects.bulk_create(dismissals, batch_size=2000)
    # The community feed: 100 listings a day over 30 days, today's with votes.
    listed = rng.sample(every[: -2 * len(corpus["today"])], 3000)
    Listing.objects.bulk_create(
        (Listing(paper_id=pid, day=today - dt.timedelta(days=k // 100),
                 submitted_at=now - dt.timedelta(days=k // 100, minutes=k % 100),
                 source=Listing.Source.IMPORT) for k, pid in enumerate(listed)),
        batch_size=2000,
    )  # fmt: skip
    Paper.objects.filter(pk__in=listed[:100]).update(source_upvotes=7)
    return users


def build_channels(users, count: int, port: int, corpus: dict, rng: random.Random) -> list[int]:
    from django.utils import timezone

    from broadsheet.channels.models import Channel
    from broadsheet.channels.vault import seal
    from broadsheet.digests.models import SavedSearch, Subscription
    from broadsheet.papers.filters import normalised_text
    from broadsheet.papers.models import Paper

    now = timezone.now()
    # Saved searches for words of today's arrivals' titles, as members follow live topics.
    titles = list(Paper.objects.filter(pk__in=corpus["today"]).values_list("title", flat=True))
    queries: list[str] = []
    while len(queries) < 100:
        words = [w.strip(".,:;()").lower() for w in rng.choice(titles).split()]
        words = [w for w in words if len(w) > 3 and w not in STOP and w.isalpha()]
        if words and (q := rng.choice(words)) not in queries:
            queries.append(q)
    filtered = normalised_text("exclude=survey")
    channels = []
    for i in range(count):
        kind = ("top", "search", "new")[i % 3]
        saved = None
        if kind == "search":
            sub = Subscription.objects.create(
                email=f"c{i}@example.org", confirmed_at=now, user=users[i]
            )
            saved = SavedSearch.objects.create(subscription=sub, query=rng.choice(queries))
        channels.append(Channel(
            owner=users[i], name=f"channel {i}", url_sealed="", url_hint="json://127.0.0.1",
            content=kind, saved_search=saved, top_n=5, send_at=dt.time(0, 0),
            paper_filter=filtered if i % 10 == 9 else "",
        ))  # fmt: skip
    made = Channel.objects.bulk_create(channels)
    for c in made:
        c.url_sealed = seal(f"json://127.0.0.1:{port}/c/{c.pk}")
    Channel.objects.bulk_update(made, ["url_sealed"], batch_size=500)
    return [c.pk for c in made]


def rank_members(users, day) -> list[float]:
    from broadsheet.search.recommend import arrivals_ranked

    times = []
    for user in users:
        start = time.perf_counter()
        order, _, _ = arrivals_ranked(user, day)
        times.append(time.perf_counter() - start)
        assert order
    return times


def pages(client, url: str, users, repeat: int = 1) -> tuple[list[float], int]:
    from django.db import connection

    times, queries = [], []

    def counted(execute, sql, params, many, context):
        queries.append(sql)
        return execute(sql, params, many, context)

    for k, user in enumerate(users):
        if user is None:
            client.logout()
        else:
            client.force_login(user)
        for r in range(repeat):
            start = time.perf_counter()
            if k == 0 and r == 0:
                with connection.execute_wrapper(counted):
                    response = client.get(url)
            else:
                response = client.get(url)
            times.append(time.perf_counter() - start)
            assert response.status_code == 200, (url, response.status_code)
    return times, len(queries)


def baseline_posts(port: int, count: int, threads: int, size: int) -> float:
    body = json.dumps({"title": "t", "message": "x" * size, "type": "info"}).encode()
    paths = iter(range(count))
    lock = threading.Lock()

    def post() -> None:
        while True:
            with lock:
                k = next(paths, None)
            if k is None:
                return
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            conn.request("POST", f"/base/{k}", body, {"Content-Type": "application/json"})
            conn.getresponse().read()
            conn.close()

    start = time.perf_counter()
    workers = [threading.Thread(target=post) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--papers", type=int, default=100_000)
    parser.add_argument("--arrivals", type=int, default=800)
    parser.add_argument("--members", type=int, default=10_000)
    parser.add_argument("--histories", type=int, default=1000)
    parser.add_argument("--channels", type=int, default=1000)
    parser.add_argument("--pages", type=int, default=100, help="members whose page is timed")
    parser.add_argument("--profile", action="store_true", help="profile ranking 20 members")
    parser.add_argument("--engine", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument(
        "--database-url", default="",
        help="an empty PostgreSQL database (with pgvector) to use instead of the bundled one",
    )  # fmt: skip
    args = parser.parse_args()
    if args.database_url:
        args.engine = "postgresql"
    rng = random.Random(21)
    real, vectors = load_real()
    port = free_port()
    receiver = subprocess.Popen(
        [sys.executable, "-c", RECEIVER, str(port)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert receiver.stdout.readline().strip() == "ready"

    def received() -> dict[str, int]:
        receiver.stdin.write("count\n")
        receiver.stdin.flush()
        return json.loads(receiver.stdout.readline())

    with tempfile.TemporaryDirectory(prefix="broadsheet-routine-") as tmp:
        tmp = Path(tmp)
        tmp.chmod(0o755)  # the bundled PostgreSQL runs as another user
        bundled = args.engine == "postgresql" and not args.database_url
        pg = PostgreSQL(tmp / "pg") if bundled else None
        try:
            env = {
                "BROADSHEET_DEBUG": "false",
                "BROADSHEET_SEARCH_SEMANTIC": "false",
                "BROADSHEET_PAGE_CACHE_SECONDS": "0",
                "BROADSHEET_INGEST_ARXIV_CATEGORIES": SITE_CATEGORIES,
                "BROADSHEET_CHANNEL_ALLOW_PRIVATE_HOSTS": "true",
                "BROADSHEET_SITE_URL": "https://papers.example.org",
            }
            if args.engine == "postgresql":
                env["BROADSHEET_DATABASE_URL"] = args.database_url or pg.url
            django_in_process(tmp / "data", **env)
            from django.conf import settings

            # Pages as the tests render them: static URLs without a collected manifest.
            static = "django.contrib.staticfiles.storage.StaticFilesStorage"
            settings.STORAGES = {**settings.STORAGES, "staticfiles": {"BACKEND": static}}
            settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
            run(args, real, vectors, rng, port, received)
        finally:
            if pg:
                from django.db import connections

                connections.close_all()
                pg.stop()
    receiver.stdin.close()
    receiver.wait(timeout=10)


def run(args, real, vectors, rng, port, received) -> None:
    from django.conf import settings
    from django.test import Client
    from django.utils import timezone

    load = os.getloadavg()
    print(f"engine {args.engine}; load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}")
    start = time.perf_counter()
    corpus = build_corpus(args.papers, args.arrivals, real, vectors, rng)
    print(f"corpus: {args.papers:,} papers with vectors and lexical entries in "
          f"{time.perf_counter() - start:.0f} s; arrivals {len(corpus['yesterday'])} yesterday, "
          f"{len(corpus['today'])} today")  # fmt: skip
    start = time.perf_counter()
    users = build_members(corpus, args.members, args.histories, rng)
    ids = build_channels(users, args.channels, port, corpus, rng)
    print(
        f"site: {len(users):,} members, {args.histories:,} with a history; {len(ids):,} "
        f"channels; 3,000 listings over 30 days; built in {time.perf_counter() - start:.0f} s"
    )
    today = timezone.localdate()
    with_history, without = users[: args.histories], users[args.histories :]

    if args.profile:
        import cProfile
        import pstats

        cProfile.runctx("rank_members(with_history[:20], today)", globals(), locals(), "/tmp/rp")
        pstats.Stats("/tmp/rp").sort_stats("cumulative").print_stats(25)
    print("\n(a) the New view's order (arrivals_ranked) for each member")
    start = time.perf_counter()
    ranked = rank_members(with_history, today)
    total = time.perf_counter() - start
    plain = rank_members(without[: len(with_history)], today)
    print(f"  ranked, {len(ranked):,} members with a history: {total:.1f} s; {line(ranked)}")
    print(f"  baseline, recency order (no history):     {sum(plain):.1f} s; {line(plain)}")
    print(f"  ratio ranked/recency p50: {pct(ranked, 50) / pct(plain, 50):.1f}x")

    print("\n(b) the New view page, Django's test client (page cache off)")
    client = Client()
    pages(client, "/new", [None, with_history[-1]])  # templates compiled, connections made
    members_t, member_q = pages(client, "/new", with_history[: args.pages])
    anon_t, anon_q = pages(client, "/new", [None], repeat=args.pages)
    print(f"  member with a history: {line(members_t)}; {member_q} SQL queries")
    print(f"  baseline, anonymous:   {line(anon_t)}; {anon_q} SQL queries")
    print(f"  ratio member/anonymous p50: {pct(members_t, 50) / pct(anon_t, 50):.1f}x")

    # This checkout's code, whatever the virtualenv's `broadsheet` was installed from.
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    print(f"\n(c) {len(ids):,} channels by `broadsheet send-channels` to a local receiver")
    command = [str(BIN / "broadsheet"), "send-channels"]
    if args.profile:
        command = [sys.executable, "-m", "cProfile", "-o", "/tmp/routine-send.prof", *command]
    start = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, env=env)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"send-channels failed:\n{result.stderr[-3000:]}")
    counts = received()
    from django.db.models import Count

    from broadsheet.channels.models import ChannelRun

    statuses = {
        f"{kind}/{status}": n
        for kind, status, n in ChannelRun.objects.values_list("channel__content", "status")
        .annotate(n=Count("id"))
        .order_by("channel__content", "status")
    }
    sent_ids = set(ChannelRun.objects.filter(status="sent").values_list("channel_id", flat=True))
    expected = {f"/c/{i}" for i in sent_ids}
    twice = sorted(p for p, n in counts.items() if n > 1)
    missing = sorted(expected - set(counts))
    stray = sorted(set(counts) - expected)
    total_posts = sum(counts.values())
    print(f"  send-channels: {result.stdout.strip().splitlines()[-1]}")
    print(f"  runs: {statuses}")
    print(f"  received {total_posts:,} POSTs for {len(counts):,} channels in {elapsed:.1f} s "
          f"(process start included) = {total_posts / elapsed:.0f} messages/s; "
          f"exactly once: {'yes' if not (twice or missing or stray) else 'NO'} "
          f"({len(twice)} twice, {len(missing)} missing, {len(stray)} unexpected)")  # fmt: skip
    if args.profile:
        import pstats

        pstats.Stats("/tmp/routine-send.prof").sort_stats("cumulative").print_stats(40)
    again = subprocess.run(
        [str(BIN / "broadsheet"), "send-channels"], capture_output=True, text=True, env=env
    )
    print(f"  run again: {again.stdout.strip().splitlines()[-1]}; "
          f"{sum(received().values())} more POSTs")  # fmt: skip
    from broadsheet.channels.compose import message
    from broadsheet.channels.models import Channel
    from broadsheet.digests.periods import parse_period

    run_ = ChannelRun.objects.filter(status="sent").select_related("channel").first()
    size = len(message(run_.channel, parse_period(run_.period), run_.paper_ids)[1]) if run_ else 500
    n = max(total_posts, 1)
    base = baseline_posts(port, n, settings.CHANNEL_PARALLEL, size)
    got = sum(received().values())
    print(f"  baseline, plain http.client on {settings.CHANNEL_PARALLEL} threads, {size} B: "
          f"{got:,} POSTs in {base:.1f} s = {got / base:.0f} POSTs/s")  # fmt: skip
    if total_posts:
        print(f"  ratio send-channels/receiver alone: {(elapsed / total_posts) / (base / n):.1f}x "
              f"the time per message")  # fmt: skip
    del Channel

    print("\n(d) keyword filters (PaperFilter), Django's test client, anonymous")
    client.logout()
    month = f"/papers/month/{today:%Y-%m}"
    words = "include=learning,network&exclude=survey"
    for label, url in (("month feed", month), ("New view", "/new")):
        plain_t, plain_q = pages(client, url, [None], repeat=20)
        kw_t, kw_q = pages(client, f"{url}?{words}", [None], repeat=20)
        print(f"  {label:10s} unfiltered: {line(plain_t)}; {plain_q} queries")
        print(f"  {label:10s} {words}: {line(kw_t)}; {kw_q} queries; "
              f"ratio {pct(kw_t, 50) / pct(plain_t, 50):.1f}x")  # fmt: skip
    load = os.getloadavg()
    print(f"\nload average at the end {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}")


if __name__ == "__main__":
    main()
