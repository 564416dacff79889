"""Benchmark: compose and deliver every digest of a day to a local SMTP server.

    .venv/bin/python bench/digests.py [--subscribers 10000] [--papers 100000]

A fresh SQLite site with N papers (titles and abstracts recombined from
the 1,000 real abstracts shipped in broadsheet/papers/data/arxiv-1000.csv, published over the last 60 days, 300 of them listed this week
with votes), S confirmed daily subscribers with two saved searches each (drawn from 200
distinct queries, as real subscribers share interests), and aiosmtpd in its own process
counting what it accepts. Then `send_digests` for today, timed, with where the time went.
Saved searches run by words only (BROADSHEET_SEARCH_SEMANTIC=false): embedding 100,000
abstracts would take this machine hours, and the query embedding is a constant per query.
Baseline, measured in the same run: the same number of one pre-built digest handed to the
same server over one smtplib connection: the floor for delivery alone.
Target (digests issue): 10,000 subscribers over 100,000 papers in at most 2 minutes.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import random
import smtplib
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sitelib import django_in_process

ROOT = Path(__file__).resolve().parent.parent
CSV = ROOT / "broadsheet" / "papers" / "data" / "arxiv-1000.csv"  # shipped with the package
CATS = "cs.LG cs.CL cs.CV cs.AI stat.ML cs.RO cs.IR math.OC cs.NE eess.IV".split()
STOP = set("a an the of for and in on with to from by via is are we our its using towards".split())

SERVER = r"""
import asyncio, signal, sys
from aiosmtpd.controller import Controller
count = 0
class Counter:
    async def handle_DATA(self, server, session, envelope):
        global count
        count += 1
        return "250 OK"
c = Controller(Counter(), hostname="127.0.0.1", port=int(sys.argv[1]))
c.start()
print("ready", flush=True)
sys.stdin.readline()
print(count, flush=True)
c.stop()
"""


def load_texts() -> list[tuple[str, str]]:
    with CSV.open(newline="", encoding="utf-8") as f:
        return [(r["titles"], r["summaries"]) for r in csv.DictReader(f)]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def setup(data_dir: Path, port: int) -> None:
    django_in_process(
        data_dir,
        BROADSHEET_SEARCH_SEMANTIC="false",
        BROADSHEET_EMAIL_URL=f"smtp://127.0.0.1:{port}",
        BROADSHEET_SITE_URL="https://papers.example.org",
    )


def build_corpus(n: int, texts, rng: random.Random, tmp: Path, now: dt.datetime) -> float:
    from broadsheet.ingest.jsonl import read_jsonl
    from broadsheet.ingest.upsert import upsert

    path = tmp / "papers.jsonl"
    with path.open("w", encoding="utf-8") as out:
        for i in range(n):
            title, abstract = texts[rng.randrange(len(texts))]
            cats = rng.sample(CATS, rng.randint(1, 3))
            published = now - dt.timedelta(minutes=rng.randrange(60 * 24 * 60))
            out.write(json.dumps({
                "arxiv_id": f"26{i // 100000:02d}.{i % 100000:05d}", "title": f"{title} ({i})",
                "abstract": abstract, "authors": [f"Author {rng.randrange(5000)}"],
                "categories": cats, "primary_category": cats[0],
                "published_at": published.isoformat(),
            }) + "\n")  # fmt: skip
    start = time.perf_counter()
    with path.open("rb") as f:
        upsert(read_jsonl(f, path.name))
    return time.perf_counter() - start


def build_site(subscribers: int, texts, rng: random.Random, now: dt.datetime) -> list[str]:
    from broadsheet.digests.models import SavedSearch, Subscription
    from broadsheet.papers.models import Listing, Paper

    ids = list(Paper.objects.order_by("?").values_list("id", flat=True)[:300])
    Paper.objects.filter(id__in=ids).update(source_upvotes=7)
    Listing.objects.bulk_create(
        Listing(paper_id=pid, day=(now - dt.timedelta(hours=i % 150)).date(),
                submitted_at=now - dt.timedelta(hours=i % 150), source=Listing.Source.IMPORT)
        for i, pid in enumerate(ids)
    )  # fmt: skip
    queries = []
    while len(queries) < 200:
        words = [w.strip(".,:;()").lower() for w in rng.choice(texts)[0].split()]
        words = [w for w in words if len(w) > 3 and w not in STOP and w.isalpha()]
        if len(words) >= 2:
            q = " ".join(rng.sample(words, 2))
            if q not in queries:
                queries.append(q)
    Subscription.objects.bulk_create(
        Subscription(email=f"reader{i:05d}@example.org", confirmed_at=now - dt.timedelta(days=2),
                     include_picks=False, weekdays="0123456")
        for i in range(subscribers)
    )  # fmt: skip
    subs = list(Subscription.objects.values_list("id", flat=True))
    SavedSearch.objects.bulk_create(
        SavedSearch(subscription_id=sid, query=q) for sid in subs for q in rng.sample(queries, 2)
    )
    return queries


def baseline(port: int, message: bytes, count: int) -> float:
    start = time.perf_counter()
    with smtplib.SMTP("127.0.0.1", port) as smtp:
        for i in range(count):
            smtp.sendmail("bench@localhost", [f"reader{i:05d}@example.org"], message)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=10_000)
    parser.add_argument("--papers", type=int, default=100_000)
    args = parser.parse_args()
    rng = random.Random(7)
    texts = load_texts()
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-c", SERVER, str(port)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert server.stdout.readline().strip() == "ready"
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        setup(tmp / "data", port)
        from django.utils import timezone

        from broadsheet.digests.send import send_digests

        now = timezone.now()
        seconds = build_corpus(args.papers, texts, rng, tmp, now)
        print(f"corpus: {args.papers:,} papers ingested and indexed in {seconds:.1f} s")
        queries = build_site(args.subscribers, texts, rng, now)
        print(f"site: {args.subscribers:,} subscribers, {2 * args.subscribers:,} saved searches "
              f"over {len(queries)} distinct queries, 300 listings")  # fmt: skip

        start = time.perf_counter()
        counts = send_digests([timezone.localdate(now).isoformat()])
        elapsed = time.perf_counter() - start
        server.stdin.write("count\n")
        server.stdin.flush()
        delivered = int(server.stdout.readline())
        print(f"send-digests: {counts}")
        print(f"delivered to the SMTP server: {delivered:,} in {elapsed:.1f} s, "
              f"{delivered / elapsed:,.0f} emails/s")  # fmt: skip
        parts = sorted(counts.timings.items(), key=lambda kv: -kv[1])
        print("where the time went: " + ", ".join(f"{k} {v:.1f} s" for k, v in parts))
        if parts:
            print(f"slowest part: {parts[0][0]} ({100 * parts[0][1] / elapsed:.0f}% of the run)")

        from broadsheet.digests.compose import Composer
        from broadsheet.digests.emails import digest_email
        from broadsheet.digests.models import Subscription
        from broadsheet.digests.periods import current_periods

        # A digest as the run sent it (composed as if this subscriber had had none yet).
        sub = Subscription.objects.first()
        digest = Composer(now).compose(sub, current_periods(now)[0], None)
        message = digest_email(digest).message().as_bytes(linesep="\r\n")
        base_count = min(delivered or args.subscribers, 2000)
        restart = subprocess.Popen(
            [sys.executable, "-c", SERVER, str(port2 := free_port())],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert restart.stdout.readline().strip() == "ready"
        base = baseline(port2, message, base_count)
        restart.stdin.write("x\n")
        restart.stdin.flush()
        restart.wait()
        rate = base_count / base
        print(f"baseline (one pre-built {len(message) / 1024:.0f} KB message, bare smtplib, one "
              f"connection): {base_count:,} in {base:.1f} s, {rate:,.0f} emails/s")  # fmt: skip
        if delivered:
            print(f"ratio ours/baseline: {rate / (delivered / elapsed):.1f}x the time per email")
        projected = elapsed * 10_000 / max(args.subscribers, 1)
        print(f"projected for 10,000 subscribers: {projected:.0f} s (target: at most 120 s)")
    server.wait(timeout=10)


if __name__ == "__main__":
    main()
