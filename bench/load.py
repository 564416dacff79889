"""Benchmark: N members reading and voting at once for S seconds, then exact vote counts.

    .venv/bin/python bench/load.py [--members 200] [--seconds 60] [--engine sqlite|postgresql]
                                   [--workers 2] [--threads 8] [--papers 40]

Starts a fresh site (SQLite in a temp dir, or the bundled PostgreSQL 16 of the test extra)
and `broadsheet serve` on a loopback port. Each member is a thread with its own keep-alive
connection and API token: 70% reads (home page, paper page, API paper) and 30% votes (toggled:
upvote, or withdraw its own earlier upvote). Afterwards every paper's Upvote rows and its kept
count must equal what the server told the members. Prints throughput, p50/p99 per kind, the
statuses (no 5xx expected), and as a same-run baseline the throughput of /healthz (no
database) with the same members, and the ratio.

Members' pages carry their own vote state and are never served from the page cache; anonymous
readers of the cached pages, on several nodes, and how soon a vote reaches them: readers.py.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from sitelib import PostgreSQL, Server, base_env, check_votes, make_site, report, run_members


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--papers", type=int, default=40)
    parser.add_argument("--engine", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn processes")
    parser.add_argument("--threads", type=int, default=8, help="threads per process")
    args = parser.parse_args()
    if not (1 <= args.members <= 1000 and 1 <= args.seconds <= 600):
        parser.error("--members 1-1000, --seconds 1-600")

    with tempfile.TemporaryDirectory(prefix="broadsheet-load-") as tmp:
        tmp = Path(tmp)
        tmp.chmod(0o755)
        pg = PostgreSQL(tmp / "pg") if args.engine == "postgresql" else None
        server = None
        try:
            env = base_env(tmp / "data", pg.url if pg else "")
            site = make_site(env, args.members, args.papers)
            server = Server(env, args.workers, args.threads, tmp / "server.log")
            print(f"{args.engine}: {args.members} members, {args.papers} papers, "
                  f"{args.workers} processes x {args.threads} threads, {args.seconds:.0f} s")  # fmt: skip

            base_seconds = max(3.0, args.seconds / 10)
            stats, _ = run_members(server, site, base_seconds, paths=("/healthz",))
            baseline = report("baseline /healthz", stats, base_seconds)

            started = time.monotonic()
            stats, voted = run_members(server, site, args.seconds)
            rate = report("members", stats, time.monotonic() - started)
            fives = sum(n for s, n in stats.statuses.items() if s >= 500)
            exact = check_votes(env, voted, stats.uncertain)
            print(f"ratio members/baseline throughput: {rate / baseline:.2f}")
            print(f"5xx: {fives}; exact vote counts: {'yes' if exact else 'NO'}")
            return 0 if exact and fives == 0 and not stats.failures else 1
        finally:
            if server:
                server.stop()
            if pg:
                pg.stop()


if __name__ == "__main__":
    raise SystemExit(main())
