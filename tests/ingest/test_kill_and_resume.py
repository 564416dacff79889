"""A real `broadsheet ingest jsonl` process killed with SIGKILL mid-batch, then run again.

The subprocess gets a database of its own (a SQLite file in a temporary data directory, or on
PostgreSQL a database created for the test), so what it commits is really committed and the
test watches it from outside, as an operator would.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.parse
import uuid
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import pytest

from broadsheet.ingest.jsonl import PARALLEL_AFTER, PARSE_CHUNK

# The `broadsheet` console command, run by this interpreter.
BROADSHEET = [sys.executable, "-m", "broadsheet.cli"]
# Past PARALLEL_AFTER chunks, so the file is parsed in a second process (which the kill must
# take down too).
LINES = (PARALLEL_AFTER - 1) * PARSE_CHUNK + 200
BATCH = 300
# Kill once this many papers are committed: some batches in, most of the file still to go.
KILL_AT = 3 * BATCH


@dataclass
class Target:
    env: dict[str, str]
    query: Callable[[str], int]


def generate(path: Path) -> tuple[set[str], dict[str, int], int]:
    """LINES records; about one in ten repeats an earlier id with a newer version. Returns the
    distinct ids, the number of authors each paper ends with, and how many ids were revised."""
    rng = random.Random(20240104)
    names = [f"{f} {k}" for f in ("Ada", "Alan", "Grace", "Edsger", "Barbara", "Donald")
             for k in ("Lovelace", "Turing", "Hopper", "Dijkstra", "Liskov", "Knuth")]  # fmt: skip
    authors: dict[str, int] = {}
    revised: set[str] = set()
    with path.open("w", encoding="utf-8") as out:
        for i in range(LINES):
            if i % 10 == 9:
                n = rng.randrange(i - 8)
                ident, version = f"2401.{n:05d}", 2
                revised.add(ident)
            else:
                ident, version = f"2401.{i:05d}", 1
            chosen = rng.sample(names, rng.randint(1, 4))
            authors[ident] = len(chosen)
            record = {
                "arxiv_id": ident, "arxiv_version": version, "title": f"Paper {ident} v{version}",
                "abstract": "We study things at length. " * 10, "authors": chosen,
                "categories": ["cs.LG"], "published_at": "2024-01-02T12:00:00+00:00",
            }  # fmt: skip
            out.write(json.dumps(record) + "\n")
    return set(authors), authors, len(revised)


def run(target: Target, *args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*BROADSHEET, *args], env=target.env, capture_output=True, text=True, timeout=120,
        **kwargs,
    )  # fmt: skip


def base_env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BROADSHEET_")}
    env.update(
        BROADSHEET_SECRET_KEY="test-only",
        BROADSHEET_DATA_DIR=str(data_dir),
        BROADSHEET_LOG_LEVEL="WARNING",
        BROADSHEET_MODEL_DIR=os.environ["BROADSHEET_MODEL_DIR"],  # made once for the run
        # The settings the tests run with (pytest-django exports them).
        DJANGO_SETTINGS_MODULE=os.environ.get("DJANGO_SETTINGS_MODULE", "broadsheet.settings"),
    )
    return env


@pytest.fixture(scope="session")
def migrated_site(tmp_path_factory) -> Iterator[tuple[Path, str]]:
    """A site migrated once (about 5 s a time) for every `target` of the run: its data
    directory, and on PostgreSQL the database to copy."""
    data = tmp_path_factory.mktemp("migrated") / "data"
    env = base_env(data)
    url = os.environ.get("BROADSHEET_DATABASE_URL")
    if not url:
        migrate = subprocess.run([*BROADSHEET, "migrate", "-v0"], env=env, capture_output=True,
                                 text=True, timeout=120)  # fmt: skip
        assert migrate.returncode == 0, migrate.stderr
        yield data, ""
        return

    import psycopg

    name = f"broadsheet_template_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    env["BROADSHEET_DATABASE_URL"] = _with_database(url, name)
    try:
        migrate = subprocess.run([*BROADSHEET, "migrate", "-v0"], env=env, capture_output=True,
                                 text=True, timeout=120)  # fmt: skip
        assert migrate.returncode == 0, migrate.stderr
        yield data, name
    finally:
        with psycopg.connect(url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _with_database(url: str, name: str) -> str:
    return urllib.parse.urlunsplit(urllib.parse.urlsplit(url)._replace(path=f"/{name}"))


@pytest.fixture
def target(tmp_path, migrated_site) -> Iterator[Target]:
    """A migrated site of the test's own, for `broadsheet` commands run as subprocesses."""
    template_data, template_db = migrated_site
    shutil.copytree(template_data, tmp_path / "data")
    env = base_env(tmp_path / "data")
    url = os.environ.get("BROADSHEET_DATABASE_URL")
    if not url:
        db_file = tmp_path / "data" / "broadsheet.sqlite3"

        def query(sql: str) -> int:
            # WAL mode: reading while the importer writes neither blocks nor is blocked.
            with closing(sqlite3.connect(db_file, timeout=20)) as conn:
                return conn.execute(sql).fetchone()[0]

        yield Target(env, query)
        return

    import psycopg

    name = f"broadsheet_kill_{uuid.uuid4().hex[:12]}"
    admin = psycopg.connect(url, autocommit=True)
    admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template_db}"')
    env["BROADSHEET_DATABASE_URL"] = _with_database(url, name)
    try:

        def query(sql: str) -> int:
            with psycopg.connect(env["BROADSHEET_DATABASE_URL"], autocommit=True) as conn:
                return conn.execute(sql).fetchone()[0]

        yield Target(env, query)
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


# Distinct papers in the SQLite-mode lexical index that are stored papers.
INDEXED_IDS = """
import tantivy
from broadsheet.papers.models import Paper
from broadsheet.search.backends.embedded import lexical_index
s = lexical_index.searcher()
hits = s.search(tantivy.Query.all_query(), 100_000, count=False).hits
ids = set(s.fast_field_values("id", [address for _, address in hits]))
print(len(ids & set(Paper.objects.values_list("id", flat=True))))
"""


def children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:  # the field after the state is the parent's pid
            found.append(int(stat.parent.name))
    return found


def count_papers(target: Target) -> int:
    try:
        return target.query("SELECT COUNT(*) FROM papers_paper")
    except Exception:  # the table is being created, or locked for a moment
        return 0


def test_a_killed_import_keeps_its_committed_batches_and_a_rerun_finishes_without_duplicates(
    target, tmp_path
):
    path = tmp_path / "big.jsonl"
    ids, authors, revised = generate(path)
    if "BROADSHEET_DATABASE_URL" in target.env:
        # The database engine: the one whose import also writes tsvectors, from a second
        # connection, which a kill must not leave half done (the embedded engine's nodes
        # index from the papers alone).
        target.env["BROADSHEET_SEARCH_ENGINE"] = "database"

    # Run 1: killed with SIGKILL once some batches are committed.
    process = subprocess.Popen(
        [*BROADSHEET, "ingest", "jsonl", str(path), "--batch-size", str(BATCH)],
        env=target.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while count_papers(target) < KILL_AT:
            assert process.poll() is None, "the import finished before it could be killed"
            assert time.monotonic() < deadline, "no batch was committed within a minute"
            time.sleep(0.01)
        helpers = children(process.pid)  # the parsing process of a long file
        process.send_signal(signal.SIGKILL)
    finally:
        process.kill()
        process.wait(timeout=10)
    assert process.returncode == -signal.SIGKILL
    assert helpers, "a file this long is parsed in a second process"
    deadline = time.monotonic() + 10
    while any(Path(f"/proc/{pid}").exists() for pid in helpers):
        assert time.monotonic() < deadline, "the parsing process outlived the killed import"
        time.sleep(0.05)

    committed = count_papers(target)
    assert KILL_AT <= committed < len(ids), "the kill should land mid-file"
    # Whole batches only: every committed paper has all its authors.
    assert (
        target.query(
            "SELECT COUNT(*) FROM papers_paper p WHERE p.author_count != "
            "(SELECT COUNT(*) FROM papers_authorship a WHERE a.paper_id = p.id)"
        )
        == 0
    )

    # Run 2: to completion.
    rerun = run(target, "ingest", "jsonl", str(path), "--batch-size", str(BATCH))

    assert rerun.returncode == 0, rerun.stderr
    summary = re.match(
        r"jsonl: (\d+) new, (\d+) updated, (\d+) unchanged, (\d+) rejected", rerun.stdout
    )
    new, updated, unchanged, rejected = map(int, summary.groups())
    assert rejected == 0
    assert new == len(ids) - committed
    assert new + updated + unchanged <= LINES
    assert target.query("SELECT COUNT(*) FROM papers_paper") == len(ids)
    assert target.query("SELECT COUNT(DISTINCT arxiv_id) FROM papers_paper") == len(ids)
    assert target.query("SELECT COUNT(*) FROM papers_authorship") == sum(authors.values())
    assert (
        target.query(
            "SELECT COUNT(*) FROM (SELECT paper_id, position FROM papers_authorship "
            "GROUP BY paper_id, position HAVING COUNT(*) > 1) AS d"
        )
        == 0
    )
    if "BROADSHEET_DATABASE_URL" not in target.env:
        # Every paper is in the lexical index (written in a thread after each batch; what the
        # kill left pending was indexed by the rerun), and nothing is left pending.
        assert target.query("SELECT COUNT(*) FROM search_lexical_pending") == 0
        indexed = run(target, "shell", "-c", INDEXED_IDS)
        assert indexed.returncode == 0, indexed.stderr
        assert int(indexed.stdout.split()[-1]) == len(ids)
    else:
        # Every paper has its document and tsvector (written by a second connection after
        # each batch; what the kill left unwritten was written by the rerun).
        assert target.query("SELECT COUNT(*) FROM search_document") == len(ids)
        assert target.query("SELECT COUNT(*) FROM search_document WHERE tsv IS NULL") == 0
    # Repeated ids ended on their newest version, whichever run stored which line.
    assert target.query("SELECT COUNT(*) FROM papers_paper WHERE arxiv_version = 2") == revised
    assert target.query("SELECT COUNT(*) FROM papers_paper WHERE title LIKE '%v2'") == revised
