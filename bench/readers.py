"""Benchmark: many anonymous readers of the feed and paper pages, and how stale they can be.

    .venv/bin/python bench/readers.py [--papers 2000] [--seconds 20] [--connections 16]
                                      [--engine sqlite|postgresql] [--workers 2] [--threads 4]

Starts a fresh site with --papers papers listed over the last 30 days and `broadsheet serve`,
then loads it with wrk (`apt-get install wrk`; a Python client when wrk is missing, which
tops out well below the server) for --seconds on each of:
  - a static file (whitenoise, no database): the same-run baseline;
  - the day, week, month, trending and 50 paper pages, as anonymous readers (the page cache);
  - the same pages from a second server with the page cache off (BROADSHEET_PAGE_CACHE_SECONDS=0).
Prints req/s and p50/p99 for each and the ratios. During the cached run a member toggles an
upvote on a paper every --vote-every seconds (1) through the API and polls that paper's anonymous page
until it shows the new count: the worst delay is printed beside the documented bound
(BROADSHEET_PAGE_CACHE_CHECK_SECONDS, 1 s, plus one rendering).
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import re
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from sitelib import BIN, PostgreSQL, Server, base_env, python, request, run_members

SETUP = """
import datetime as dt, json, sys
from django.utils import timezone
from broadsheet.accounts.models import User
from broadsheet.api.tokens import create_token
from broadsheet.papers.models import Author, Authorship, Listing, Paper
papers = int(sys.argv[1])
today = timezone.localdate()
authors = [Author.objects.create(name=f"Author {i}") for i in range(200)]
ids = []
for i in range(papers):
    day = today - dt.timedelta(days=i % 30)
    p = Paper.objects.create(
        arxiv_id=f"2601.{i:05d}", slug=f"bench-{i}", title=f"Reading under load, part {i}",
        abstract="Many readers, one small machine. " * 8, published_at=timezone.now(),
        source_upvotes=i % 97)
    Authorship.objects.bulk_create(
        Authorship(paper=p, author=authors[(i + k) % 200], position=k) for k in range(4))
    Listing.objects.create(paper=p, day=day, submitted_at=timezone.now(), source="import")
    ids.append(p.arxiv_id)
token = create_token(User.objects.create_user("voter", "voter@example.org"), "bench", "write")[1]
print(json.dumps({"papers": ids, "token": token, "today": str(today)}))
"""

WRK_SCRIPT = """
paths = {%s}
counter = 0
request = function()
  counter = counter + 1
  return wrk.format("GET", paths[(counter %% #paths) + 1])
end
"""
VOTE_COUNT = re.compile(rb'class="vote-count">([0-9,]+)<')


def pages(site: dict) -> list[str]:
    today = site["today"]
    iso = dt.date.fromisoformat(today).isocalendar()
    fixed = ["/", f"/papers/date/{today}", f"/papers/week/{iso.year}-W{iso.week:02d}",
             f"/papers/month/{today[:7]}", "/papers/trending"]  # fmt: skip
    return fixed + [f"/papers/{p}" for p in site["papers"][:50]]


def load(server: Server, paths: list[str], seconds: float, connections: int, tmp: Path) -> dict:
    """req/s, p50 and p99 (ms), non-2xx count, for GETs of `paths` in turn."""
    if shutil.which("wrk"):
        script = tmp / "paths.lua"
        script.write_text(WRK_SCRIPT % ", ".join(json.dumps(p) for p in paths))
        out = subprocess.run(
            ["wrk", "-t2", f"-c{connections}", f"-d{seconds:.0f}s", "--latency", "-s",
             str(script), f"http://127.0.0.1:{server.port}"],
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip

        def latency(q: str) -> float:
            found = re.search(rf"^\s+{q}%\s+([0-9.]+)(us|ms|s|m)\s*$", out, re.M)
            if found is None:
                raise SystemExit(f"cannot read wrk's output:\n{out}")
            value, unit = found.groups()
            return float(value) * {"us": 0.001, "ms": 1, "s": 1000, "m": 60000}[unit]

        bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
        errors = re.search(r"Socket errors: (.*)", out)
        return {
            "rate": float(re.search(r"Requests/sec:\s+([0-9.]+)", out).group(1)),
            "p50": latency("50"),
            "p99": latency("99"),
            "bad": int(bad.group(1)) if bad else 0,
            "errors": errors.group(1) if errors else "",
        }
    site = {"tokens": [""] * connections, "papers": []}
    stats, _ = run_members(server, site, seconds, paths=tuple(paths))
    values = sorted(v for vs in stats.latencies.values() for v in vs)
    return {
        "rate": len(values) / seconds,
        "p50": values[len(values) // 2] * 1000,
        "p99": values[int(len(values) * 0.99)] * 1000,
        "bad": sum(n for s, n in stats.statuses.items() if s != 200),
        "errors": dict(stats.failures) or "",
    }


def watch_votes(
    server: Server, site: dict, every: float, stop: threading.Event, delays: list[float]
) -> None:
    """Toggle a vote every `every` seconds; time until the anonymous page shows the new count."""
    paper = site["papers"][0]
    upvoted = False
    while not stop.is_set():
        # New connections each round: an idle keep-alive one is closed by the server.
        api, reader = server.connect(), server.connect()
        status, body = request(
            api, "DELETE" if upvoted else "POST", f"/api/v1/papers/{paper}/upvote", site["token"]
        )
        if status != 200:
            raise SystemExit(f"vote failed: {status} {body[:200]!r}")
        answer = json.loads(body)
        upvoted, expected = answer["upvoted"], answer["votes"]
        voted_at = time.monotonic()
        while True:
            status, page = request(reader, "GET", f"/papers/{paper}")
            shown = VOTE_COUNT.search(page)
            if shown and int(shown.group(1).replace(b",", b"")) == expected:
                delays.append(time.monotonic() - voted_at)
                break
            if time.monotonic() - voted_at > 30:
                delays.append(float("inf"))
                break
            time.sleep(0.01)
        api.close()
        reader.close()
        stop.wait(every)


def line(label: str, figures: dict) -> str:
    extra = f"; non-200 {figures['bad']}" if figures["bad"] else ""
    extra += f"; socket errors {figures['errors']}" if figures["errors"] else ""
    return (
        f"{label:28s} {figures['rate']:8.1f} req/s  p50 {figures['p50']:7.2f} ms  "
        f"p99 {figures['p99']:7.2f} ms{extra}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--papers", type=int, default=2000)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--engine", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn processes")
    parser.add_argument("--threads", type=int, default=4, help="threads per process")
    parser.add_argument("--vote-every", type=float, default=1.0, help="seconds between votes")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="broadsheet-readers-") as tmp:
        tmp = Path(tmp)
        tmp.chmod(0o755)
        pg = PostgreSQL(tmp / "pg") if args.engine == "postgresql" else None
        servers: list[Server] = []
        try:
            env = base_env(tmp / "data", pg.url if pg else "")
            subprocess.run([str(BIN / "broadsheet"), "migrate", "-v0"], env=env, check=True)
            site = json.loads(python(env, SETUP, str(args.papers)))
            paths = pages(site)
            cached = Server(env, args.workers, args.threads, tmp / "cached.log")
            servers.append(cached)
            uncached = Server(
                env | {"BROADSHEET_PAGE_CACHE_SECONDS": "0"},
                args.workers, args.threads, tmp / "uncached.log",
            )  # fmt: skip
            servers.append(uncached)
            static = re.search(
                rb'href="(/static/[^"]+\.css)"', request(cached.connect(), "GET", "/")[1]
            )
            print(f"{args.engine}: {args.papers} papers, {len(paths)} pages, "
                  f"{args.workers} processes x {args.threads} threads, {args.connections} "
                  f"connections, {args.seconds:.0f} s each, "
                  f"{'wrk' if shutil.which('wrk') else 'Python client'}")  # fmt: skip

            for url in paths:  # every page once, so both runs start warm
                request(cached.connect(), "GET", url)
                request(uncached.connect(), "GET", url)
            base = load(cached, [static.group(1).decode()], args.seconds, args.connections, tmp)
            print(line("baseline: a static file", base))

            stop, delays = threading.Event(), []
            watcher = threading.Thread(
                target=watch_votes, args=(cached, site, args.vote_every, stop, delays)
            )
            watcher.start()
            hot = load(cached, paths, args.seconds, args.connections, tmp)
            stop.set()
            watcher.join()
            print(line("pages, cached", hot))
            cold = load(uncached, paths, args.seconds, args.connections, tmp)
            print(line("pages, cache off", cold))
            print(f"ratio cached/static: {hot['rate'] / base['rate']:.2f}; "
                  f"cached/cache off: {hot['rate'] / cold['rate']:.1f}x")  # fmt: skip
            worst = max(delays) if delays else float("nan")
            print(f"after a vote, the anonymous page showed the new count within "
                  f"{worst * 1000:.0f} ms at worst ({len(delays)} votes; median "
                  f"{sorted(delays)[len(delays) // 2] * 1000:.0f} ms); bound: 1 s + one rendering")  # fmt: skip
            ok = hot["bad"] == 0 and cold["bad"] == 0 and worst < 2.0
            return 0 if ok else 1
        except http.client.HTTPException as e:
            raise SystemExit(f"request failed: {e!r}") from e
        finally:
            for server in servers:
                server.stop()
            if pg:
                pg.stop()


if __name__ == "__main__":
    raise SystemExit(main())
