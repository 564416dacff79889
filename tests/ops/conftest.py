"""Fixtures for the operations tests: a site with real rows, PostgreSQL client tools, and
running `broadsheet` as a separate process."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from factories import add_authors, list_paper, make_comment, make_paper, make_user, upvote

from broadsheet.api.tokens import create_token

BROADSHEET = str(Path(sys.executable).parent / "broadsheet")


@pytest.fixture
def populated(transactional_db) -> dict:
    """Members, papers with authors, listings, votes, a comment and an API token, committed
    (other processes and pg_dump see them)."""
    ada, bob = make_user("ada"), make_user("bob")
    papers = [make_paper(f"Paper {i}", arxiv_id=f"2601.0{i:04d}") for i in range(5)]
    add_authors(papers[0], ["Ada Lovelace", "Émilie du Châtelet"])
    day = dt.date(2026, 6, 23)
    for p in papers[:3]:
        list_paper(p, day, submitted_by=ada)
    upvote(bob, papers[0])
    upvote(ada, papers[0])
    upvote(bob, papers[1])
    make_comment(papers[0], bob, "Nice result — with an em dash.")
    create_token(ada, "laptop", "write")
    return {"users": [ada, bob], "papers": papers}


@pytest.fixture
def pg_tools(settings):
    """pg_dump/pg_restore of the PostgreSQL build the suite runs on (a system install would
    be older than the server: Debian 12 ships 15)."""
    from pgserver import bundled_pginstall

    bindir = bundled_pginstall() / "bin"
    settings.PG_DUMP = str(bindir / "pg_dump")
    settings.PG_RESTORE = str(bindir / "pg_restore")
    return settings


def child_env(data_dir: Path, **overrides: str) -> dict[str, str]:
    """The environment of a `broadsheet` child process: this run's, with its own data dir."""
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    env["BROADSHEET_DATA_DIR"] = str(data_dir)
    env.update(overrides)
    return env


def run_broadsheet(args: list[str], env: dict[str, str], check: bool = True):
    result = subprocess.run(
        [BROADSHEET, *args], env=env, capture_output=True, text=True, timeout=300
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"broadsheet {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
        )
    return result


class Server:
    """`broadsheet serve` in its own process on a free loopback port."""

    def __init__(self, env: dict[str, str], log: Path, *args: str) -> None:
        from conftest import free_port

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        with open(log, "wb") as out:
            self.process = subprocess.Popen(
                [BROADSHEET, "serve", "--bind", f"127.0.0.1:{self.port}", *args],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def wait_ready(self, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"server exited:\n{self.log.read_text()}")
            try:
                if self.request("GET", "/readyz")[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.3)
        raise AssertionError(f"server not ready after {timeout} s:\n{self.log.read_text()}")

    def request(self, method: str, path: str, body: dict | None = None, token: str = ""):
        """(status, parsed JSON or text) of one request."""
        headers = {"Accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if token:
            headers["Authorization"] = f"Bearer {token}"
        req = urllib.request.Request(self.url + path, data=data, headers=headers, method=method)
        try:
            with urllib.request.urlopen(req, timeout=30) as response:
                status, raw, kind = response.status, response.read(), response.headers
        except urllib.error.HTTPError as e:
            status, raw, kind = e.code, e.read(), e.headers
        if "json" in kind.get("Content-Type", ""):
            return status, json.loads(raw)
        return status, raw.decode()

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def start_server(tmp_path):
    """Start `broadsheet serve` processes (stopped at the end of the test)."""
    servers: list[Server] = []

    def start(env: dict[str, str], *args: str) -> Server:
        server = Server(env, tmp_path / f"server-{len(servers)}.log", *args)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()
