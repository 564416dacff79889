"""Benchmark: faults under load. Requests must fail cleanly (503, never a 500 or a hang) while
the fault lasts, the site must recover by itself afterwards, and no data may be corrupted.

    .venv/bin/python bench/faults.py db-restart [--members 50] [--seconds 30] [--outage 5]
    .venv/bin/python bench/faults.py disk-full  [...]   # SQLite on a small tmpfs (root)
    .venv/bin/python bench/faults.py read-only  [...]   # SQLite, remounted read-only (root)

db-restart: PostgreSQL (the bundled 16) is killed (`pg_ctl stop -m immediate`) a third of the
way in and started again `--outage` seconds later; the web server is not restarted.
disk-full: the data directory's filesystem is filled to the last byte, then freed.
read-only: the server is stopped, the data directory's filesystem remounted read-only (Linux
refuses that while SQLite holds files open for writing) and the server started on it; then
the filesystem is made read-write again under the running server.
Prints, for before / during / after the fault: answered requests, statuses, requests with no
answer, p50/p99; the seconds from the end of the fault to the first good vote; the vote-count
check; and for SQLite `PRAGMA integrity_check`.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import subprocess
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

from sitelib import PostgreSQL, Server, base_env, check_votes, make_site, pct, run_members


def fill(path: Path) -> None:
    with open(path, "wb") as f:
        try:
            while True:
                f.write(b"\0" * (1 << 20))
                f.flush()
        except OSError:
            pass  # ENOSPC: full


def phases(stats, fault_at: float, fault_end: float) -> None:
    names = {"before": (0, fault_at), "during": (fault_at, fault_end), "after": (fault_end, 1e9)}
    for name, (lo, hi) in names.items():
        points = [s for t, s in stats.timeline if lo <= t < hi]
        statuses = Counter(s for s in points if s)
        print(f"  {name:6s}: {sum(statuses.values()):6d} answered, statuses "
              f"{dict(sorted(statuses.items()))}, no answer {points.count(0)}")  # fmt: skip
    for kind, values in sorted(stats.latencies.items()):
        print(f"  {kind:6s} overall p50 {pct(values, 50):.1f} ms, p99 {pct(values, 99):.1f} ms")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("fault", choices=["db-restart", "disk-full", "read-only"])
    parser.add_argument("--members", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--outage", type=float, default=5)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args()
    if not (1 <= args.members <= 1000 and 3 <= args.seconds <= 600 and args.outage > 0):
        parser.error("--members 1-1000, --seconds 3-600, --outage > 0")
    on_sqlite = args.fault != "db-restart"
    if on_sqlite and os.geteuid() != 0:
        print(f"{args.fault}: skipped, needs root to mount a small tmpfs as the data directory")
        return 0

    with tempfile.TemporaryDirectory(prefix="broadsheet-faults-") as tmp:
        tmp = Path(tmp)
        tmp.chmod(0o755)
        mount = tmp / "mnt"
        pg, server, mounted, servers = None, None, False, []
        try:
            if on_sqlite:
                mount.mkdir()
                subprocess.run(["mount", "-t", "tmpfs", "-o", "size=200m", "tmpfs", str(mount)],
                               check=True)  # fmt: skip
                mounted = True
                env = base_env(mount / "data")
            else:
                pg = PostgreSQL(tmp / "pg")
                env = base_env(tmp / "data", pg.url)
            site = make_site(env, args.members, 40)
            server = Server(env, args.workers, args.threads, tmp / "server.log")
            fault_at = args.seconds / 3
            fault_end = fault_at + args.outage

            def inject() -> None:
                time.sleep(fault_at)
                if args.fault == "db-restart":
                    pg.kill()
                elif args.fault == "disk-full":
                    fill(mount / "filler")
                else:
                    servers[0].stop()
                    subprocess.run(["mount", "-o", "remount,ro", str(mount)], check=True)
                    servers[0] = Server(
                        env,
                        args.workers,
                        args.threads,
                        tmp / "server.log",
                        port=server.port,
                        prepare=False,
                        wait_for="/healthz",
                    )  # not ready: its disk is read-only
                time.sleep(max(0.0, fault_end - (time.monotonic() - t0)))
                if args.fault == "db-restart":
                    pg.restart()
                elif args.fault == "disk-full":
                    (mount / "filler").unlink()
                else:
                    subprocess.run(["mount", "-o", "remount,rw", str(mount)], check=True)
                ended[0] = time.monotonic() - t0

            ended, servers = [fault_end], [server]
            t0 = time.monotonic()
            injector = threading.Thread(target=inject)
            injector.start()
            stats, voted = run_members(server, site, args.seconds)
            injector.join()
            print(f"{args.fault}: {args.members} members, {args.seconds:.0f} s, fault from "
                  f"{fault_at:.1f} s to {ended[0]:.1f} s")  # fmt: skip
            phases(stats, fault_at, ended[0])
            good = [t for t, s in stats.timeline if t >= ended[0] and s == 200]
            recovery = f"{min(good) - ended[0]:.1f} s" if good else "never"
            print(f"  first good request after the fault ended: {recovery}")
            fives = Counter(s for _, s in stats.timeline if s >= 500)
            print(f"  5xx: {dict(fives)} (500s: {fives.get(500, 0)})")
            exact = check_votes(env, voted, stats.uncertain)
            intact = True
            if on_sqlite:
                db = sqlite3.connect(mount / "data" / "broadsheet.sqlite3")
                result = db.execute("PRAGMA integrity_check").fetchone()[0]
                db.close()
                intact = result == "ok"
                print(f"  integrity_check: {result}")
            ok = exact and intact and fives.get(500, 0) == 0 and bool(good)
            print(f"result: {'clean' if ok else 'NOT CLEAN'}")
            return 0 if ok else 1
        finally:
            if server:
                servers[0].stop() if servers else server.stop()
            if pg:
                pg.stop()
            if mounted:
                subprocess.run(["umount", "-l", str(mount)])


if __name__ == "__main__":
    raise SystemExit(main())
