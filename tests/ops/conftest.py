"""Fixtures for the operations tests: a site with real rows, PostgreSQL client tools, and
running `broadsheet` as a separate process."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
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
