"""PostgreSQL with BROADSHEET_SEARCH_ENGINE=embedded: each node serves search from its own
tantivy and vector indexes, kept in step by its follower from the database's change log.

Two nodes are two data directories on the one test database. Followers run in threads here
(node_state.node() gives each thread its folder) and, once, as a real `broadsheet
search-follow` process killed with SIGKILL while it indexes.
"""

from __future__ import annotations

import fcntl
import io
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction

from broadsheet.papers.models import Paper
from broadsheet.search.backends import get_backend
from broadsheet.search.backends.base import text_hash
from broadsheet.search.backends.embedded import lexical_index, node_state, snapshot, vectorindex
from broadsheet.search.backends.postgresql import follower
from broadsheet.search.backends.postgresql.embedded import PostgresEmbeddedBackend
from broadsheet.search.embedder import DIMENSIONS
from broadsheet.search.indexing import index_papers, store_vectors, wait_until_searchable
from broadsheet.search.query import parse
from broadsheet.search.results import Filters
from tests.factories import make_paper

TIMEOUT = 60.0  # generous: the machine is shared; nothing here measures speed
PAPERS = 200  # in the batch a follower is killed in
BROADSHEET = str(Path(sys.executable).parent / "broadsheet")


@pytest.fixture
def embedded(transactional_db, settings):
    if connection.vendor != "postgresql":
        pytest.skip("node-local indexes fed from the change log are PostgreSQL's scale-out")
    settings.SEARCH_ENGINE = "embedded"
    assert isinstance(get_backend(), PostgresEmbeddedBackend)
    yield
    with connection.cursor() as cursor:  # not a model: the flush leaves it
        cursor.execute("TRUNCATE search_outbox, search_node, search_outbox_floor")


def words_on(node: Path, text: str, **filters) -> list[int]:
    with node_state.node(node), snapshot.pinned():
        return [pid for pid, _ in get_backend().lexical(parse(text), Filters(**filters), 10)]


def nearest_on(node: Path, vector: np.ndarray) -> list[int]:
    with node_state.node(node), snapshot.pinned():
        return [pid for pid, _ in get_backend().semantic(vector, Filters(), 3)]


def eventually(check: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + TIMEOUT
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {TIMEOUT} s: {what}")
        time.sleep(0.05)


@contextmanager
def following(*nodes: Path) -> Iterator[None]:
    """A follower thread per node folder, stopped at the end of the block."""
    stop = threading.Event()
    errors: list[BaseException] = []

    def run(node: Path) -> None:
        try:
            with node_state.node(node), follower.node_lock():
                follower.Follower().run(stop, poll=0.2)
        except BaseException as e:  # reported by the test
            errors.append(e)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(n,), daemon=True) for n in nodes]
    for t in threads:
        t.start()
    try:
        yield
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=TIMEOUT)
    assert not errors, errors


def unit(seed: int) -> np.ndarray:
    v = np.random.default_rng(seed).normal(size=DIMENSIONS).astype(np.float32)
    return v / np.linalg.norm(v)


def embed(paper: Paper, vector: np.ndarray) -> None:
    store_vectors([(paper.pk, vector, text_hash(paper.title, paper.abstract))], "test-model")


def test_what_one_node_writes_the_other_finds(embedded, tmp_path, monkeypatch):
    monkeypatch.setattr(follower, "VECTOR_APPLY_SECONDS", 0.0)  # vectors at each step too
    a, b = tmp_path / "node-a", tmp_path / "node-b"
    old = make_paper("Wavelet scattering networks", authors=["Ada Lovelace"])
    index_papers([old.pk])
    embed(old, unit(1))
    with following(a, b):
        # A fresh node builds its indexes from the database, then follows.
        eventually(lambda: words_on(b, "wavelet") == [old.pk], "B built with the old paper")
        eventually(lambda: nearest_on(b, unit(1))[:1] == [old.pk], "B built its vectors")

        # Ingested (through A: any writer), found on B; its vector too.
        with node_state.node(a):
            new = make_paper("Zymurgical transformers", authors=["Grace Hopper"])
            index_papers([new.pk])
            embed(new, unit(2))
        eventually(lambda: words_on(b, "zymurgical") == [new.pk], "a new paper on B")
        eventually(lambda: nearest_on(b, unit(2))[:1] == [new.pk], "its vector on B")
        eventually(lambda: words_on(b, "hopper") == [new.pk], "authors on B")

        # Edited: the new words are found and the old ones gone; the stale vector is gone.
        Paper.objects.filter(pk=new.pk).update(title="Fermentation transformers")
        index_papers([new.pk])
        eventually(lambda: words_on(b, "fermentation") == [new.pk], "the edit on B")
        eventually(lambda: words_on(b, "zymurgical") == [], "the old title gone on B")
        eventually(lambda: new.pk not in nearest_on(b, unit(2)), "the stale vector gone")

        # Hidden, then deleted: gone on B (and on A).
        Paper.objects.filter(pk=old.pk).update(hidden=True)
        eventually(lambda: words_on(b, "wavelet") == [], "the hidden paper gone on B")
        Paper.objects.filter(pk=old.pk).delete()
        eventually(lambda: lexical_count(b) == 1, "the deleted paper out of B's index")
        eventually(lambda: words_on(a, "fermentation") == [new.pk], "A follows too")

        # A category filter runs PostgreSQL's SQL against the node's hits.
        Paper.objects.filter(pk=new.pk).update(primary_category="cs.CL", categories=["cs.CL"])
        eventually(lambda: words_on(b, "fermentation", category="cs") == [new.pk], "category")
        assert words_on(b, "fermentation", category="math") == []
    for node in (a, b):
        with node_state.node(node):
            state = node_state.read()
            # The one vector left was dropped by the edit (its text changed).
            assert state["watermark"] and state["lexical"] and state["vectors"]["count"] == 0
            assert get_backend().health().startswith("node-local")
    # Every node reported its watermark; rows both have passed are pruned.
    with node_state.node(a):
        follower.Follower().prune()
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM search_node")
        assert cursor.fetchone()[0] == 2
        cursor.execute(
            "SELECT count(*) FROM search_outbox "
            "WHERE xid < (SELECT min(watermark) FROM search_node)"
        )
        assert cursor.fetchone()[0] == 0


def similarity_on(node: Path, paper: Paper, vector: np.ndarray) -> float:
    """The node's vector index's similarity of `paper` to `vector` (0 when not in it)."""
    with node_state.node(node), snapshot.pinned():
        return dict(vectorindex.search(vector, 5)).get(paper.pk, 0.0)


def last_xid(paper: Paper) -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT max(xid)::text FROM search_outbox WHERE paper_id = %s", [paper.pk])
        return int(cursor.fetchone()[0])


def test_vectors_are_applied_in_batches_that_a_restart_does_not_lose(
    embedded, tmp_path, monkeypatch
):
    """Words at every step; vectors (a whole new generation of the faiss file) at most every
    VECTOR_APPLY_SECONDS, the ids waiting in the node's state."""
    node = tmp_path / "node"
    paper = make_paper("Wavelet scattering networks")
    index_papers([paper.pk])
    embed(paper, unit(1))

    def edit(title: str, seed: int) -> None:
        Paper.objects.filter(pk=paper.pk).update(title=title)
        paper.title = title
        index_papers([paper.pk])
        embed(paper, unit(seed))

    def state() -> dict:
        with node_state.node(node):
            return node_state.read()

    with node_state.node(node):
        f = follower.Follower()
        f.prepare()
    monkeypatch.setattr(follower, "VECTOR_APPLY_SECONDS", 3600.0)
    # The first change after a start is applied at once.
    edit("Fermentation networks", 2)
    with node_state.node(node):
        f.step()
    assert similarity_on(node, paper, unit(2)) > 0.99
    generation = state()["vectors"]["filename"]

    # The next one's words are found at once; its vector waits (no new generation).
    edit("Brewing networks", 3)
    with node_state.node(node):
        f.step()
    assert words_on(node, "brewing") == [paper.pk] and words_on(node, "fermentation") == []
    assert state()["vectors"]["filename"] == generation
    assert similarity_on(node, paper, unit(2)) > 0.99  # the old vector, for now
    assert state()["vector_pending"] == [paper.pk]

    # Once VECTOR_APPLY_SECONDS have passed, the next step applies it.
    monkeypatch.setattr(follower, "VECTOR_APPLY_SECONDS", 0.0)
    with node_state.node(node):
        f.step()
    assert similarity_on(node, paper, unit(3)) > 0.99
    assert state()["vectors"]["filename"] != generation and "vector_pending" not in state()

    # A follower killed with a vector pending: the watermark has passed the change, the
    # id is in the state, and the next follower applies it.
    monkeypatch.setattr(follower, "VECTOR_APPLY_SECONDS", 3600.0)
    embed(paper, unit(4))
    with node_state.node(node):
        f.step()
    assert int(state()["watermark"]) > last_xid(paper)
    assert state()["vector_pending"] == [paper.pk]
    del f
    with node_state.node(node):
        assert follower.Follower().step() == 0  # nothing new in the log
    assert similarity_on(node, paper, unit(4)) > 0.99
    assert "vector_pending" not in state()


def lexical_count(node: Path) -> int:
    with node_state.node(node), snapshot.pinned():
        searcher = lexical_index.searcher()
        return searcher.num_docs if searcher is not None else -1


def test_a_commit_that_lands_after_a_later_one_is_not_skipped(embedded, tmp_path):
    first = make_paper("Placeholder one")
    second = make_paper("Placeholder two")
    index_papers([first.pk, second.pk])
    node = tmp_path / "node"
    with node_state.node(node):
        f = follower.Follower()
        f.prepare()
        params = connection.get_connection_params()
        early = connection.get_new_connection(params)
        late = connection.get_new_connection(params)
        try:
            # `early` writes first (smaller sequence number and transaction id) but commits
            # last. (Search documents: papers' rows all bump one row, papers_contentversion,
            # so two writers of papers never overlap.)
            early.execute("UPDATE search_document SET authors = 'Quokka Census' "
                          "WHERE paper_id = %s", [first.pk])  # fmt: skip
            late.execute("UPDATE search_document SET authors = 'Numbat Census' "
                         "WHERE paper_id = %s", [second.pk])  # fmt: skip
            late.commit()
            f.step()
            assert words_on(node, "numbat") == [second.pk]
            early.commit()
        finally:
            early.close()
            late.close()
        seqs = dict(_seqs([first.pk, second.pk]))
        # A follower that kept only the highest sequence seen would have passed it by.
        assert seqs[first.pk] < seqs[second.pk]
        f.step()
        assert words_on(node, "quokka") == [first.pk]
        # Replaying is harmless: a new follower (a restart) indexes nothing twice.
        follower.Follower().step()
        assert lexical_count(node) == 2


def _seqs(ids: list[int]) -> list[tuple[int, int]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT paper_id, max(seq) FROM search_outbox WHERE paper_id = ANY(%s) "
            "GROUP BY paper_id",
            [ids],
        )
        return cursor.fetchall()


def database_url() -> str:
    db = connection.settings_dict
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


def start_follower(data_dir: Path, log: Path) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    env.update(
        BROADSHEET_DATA_DIR=str(data_dir),
        BROADSHEET_DATABASE_URL=database_url(),
        BROADSHEET_SEARCH_ENGINE="embedded",
    )
    with open(log, "a") as out:
        return subprocess.Popen(
            [BROADSHEET, "search-follow", "--poll", "0.2"], env=env, stdout=out, stderr=out
        )


def test_a_second_follower_on_a_data_directory_stands_by_and_takes_over(embedded, tmp_path):
    """A worker and a server on one host, one data directory: the second `search-follow`
    waits for the first's lock instead of failing (and being restarted) again and again."""
    data_dir, log = tmp_path / "data", tmp_path / "standby.log"
    node = data_dir / f"search-{connection.settings_dict['NAME']}"
    paper = make_paper("Okapi census")
    index_papers([paper.pk])
    with node_state.node(node), follower.node_lock():  # the first follower, here
        child = start_follower(data_dir, log)
        try:
            eventually(lambda: "standing by" in log.read_text(), "the second stood by")
            assert child.poll() is None, log.read_text()
            assert node_state.read().get("watermark") is None  # it has not touched the node
        except BaseException:
            child.kill()
            raise
    try:  # the first exited (its lock released): the second takes over
        eventually(lambda: words_on(node, "okapi") == [paper.pk], "the second took over")
        assert "taking over" in log.read_text()
    finally:
        child.terminate()
        child.wait(timeout=TIMEOUT)


def test_a_follower_killed_mid_batch_catches_up_with_nothing_lost_or_doubled(embedded, tmp_path):
    data_dir, log = tmp_path / "data", tmp_path / "follower.log"
    node = data_dir / f"search-{connection.settings_dict['NAME']}"
    first = make_paper("Okapi census")
    index_papers([first.pk])
    child = start_follower(data_dir, log)
    try:
        with node_state.node(node):
            eventually(lambda: node_state.read().get("watermark") is not None, "built")
        # One transaction of many papers, some with vectors. The test holds the vector
        # index's writer lock: the follower commits the batch's words, then waits there,
        # before the vector generation and the watermark. It is killed then.
        with open(node / "vectors" / ".lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            with transaction.atomic():
                papers = Paper.objects.bulk_create(
                    Paper(title=f"Dugong census {i}", slug=f"dugong-{i}", abstract="Sea cows.")
                    for i in range(PAPERS)
                )
                index_papers([p.pk for p in papers])
                for i, p in enumerate(papers[:50]):
                    embed(p, unit(100 + i))
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_current_xact_id()::text")
                    batch_xid = int(cursor.fetchone()[0])
            eventually(lambda: lexical_count(node) == PAPERS + 1, "the batch's words committed")
            child.send_signal(signal.SIGKILL)
            child.wait(timeout=TIMEOUT)
        # Killed mid-batch: the watermark has not passed the batch's transaction.
        assert int(node_state_of(node)) <= batch_xid
        child = start_follower(data_dir, log)
        eventually(lambda: lexical_count(node) == PAPERS + 1, "all indexed after the restart")
        with node_state.node(node):
            eventually(lambda: node_state.read()["vectors"]["count"] == 50, "every vector")
        hits = words_on_all(node, "dugong")
        assert len(hits) == len(set(hits)) == PAPERS
        assert nearest_on(node, unit(120))[:1] == [papers[20].pk]
    finally:
        child.terminate()
        child.wait(timeout=TIMEOUT)
    assert "Traceback" not in log.read_text()


def node_state_of(node: Path) -> str | None:
    with node_state.node(node):
        return node_state.read().get("watermark")


def words_on_all(node: Path, text: str) -> list[int]:
    with node_state.node(node), snapshot.pinned():
        wanted = lexical_index.build(parse(text), Filters())
        return [pid for pid, _ in lexical_index.search(wanted, 10_000)]


def test_search_follow_refuses_a_site_without_node_indexes(db, settings):
    settings.SEARCH_ENGINE = "database"
    with pytest.raises(CommandError, match="search-follow is for PostgreSQL|is not `embedded`"):
        call_command("search-follow", "--once")


def test_search_follow_once_builds_a_node_then_indexes_what_changed(embedded, tmp_path):
    paper = make_paper("Pangolin census")
    index_papers([paper.pk])
    out = io.StringIO()
    with node_state.node(tmp_path / "node"):
        call_command("search-follow", "--once", stdout=out)
        assert words_on(tmp_path / "node", "pangolin") == [paper.pk]
        Paper.objects.filter(pk=paper.pk).update(title="Armadillo census")
        call_command("search-follow", "--once", stdout=out)
        assert words_on(tmp_path / "node", "armadillo") == [paper.pk]
        with follower.node_lock(), pytest.raises(CommandError, match="another follower"):
            call_command("search-follow", "--once")
    assert out.getvalue().splitlines()[-1] == "Indexed 1 changed papers."


def test_a_node_of_a_site_with_no_papers_yet_is_ready_and_stays_built(embedded, tmp_path):
    with node_state.node(tmp_path / "node"):
        call_command("search-follow", "--once", stdout=io.StringIO())
        assert get_backend().health().startswith("node-local")  # what /readyz asks
        assert not follower.Follower().needs_build()
        paper = make_paper("Pangolin census")  # the first paper is followed, not rebuilt
        assert follower.Follower().step() == 1
    assert words_on(tmp_path / "node", "pangolin") == [paper.pk]


def test_saved_searches_wait_until_this_hosts_index_is_built(embedded, tmp_path, caplog):
    paper = make_paper("Pangolin census")
    index_papers([paper.pk])
    with node_state.node(tmp_path / "worker"):
        assert not wait_until_searchable(timeout=0.2, every=0.05)  # nothing built here yet
        assert "not built yet" in caplog.text
        call_command("search-follow", "--once", stdout=io.StringIO())
        assert wait_until_searchable(timeout=0)


def test_the_worker_keeps_its_hosts_index_for_saved_searches(embedded, tmp_path):
    """A worker on a host of its own searches its own indexes (digests' saved searches): it
    runs a follower that builds them, and takes the follower with it when it stops."""
    paper = make_paper("Pangolin census")
    index_papers([paper.pk])
    db = connection.settings_dict
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    env |= {
        "BROADSHEET_DATA_DIR": str(tmp_path / "worker"),
        "BROADSHEET_DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/"
        f"{db['NAME']}",
        "BROADSHEET_SEARCH_ENGINE": "embedded",
        "BROADSHEET_SEARCH_SEMANTIC": "false",
    }
    log = tmp_path / "worker.log"
    with open(log, "wb") as out:
        worker = subprocess.Popen(
            [BROADSHEET, "worker"], env=env, stdout=out, stderr=subprocess.STDOUT
        )
    node = tmp_path / "worker" / f"search-{db['NAME']}"
    try:
        eventually(
            lambda: words_on(node, "pangolin") == [paper.pk],
            f"the worker's follower built its host's index:\n{log.read_text()}",
        )
        follower_pid = int(re.search(r"search follower \(pid (\d+)\)", log.read_text())[1])
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=30)
    eventually(
        lambda: not Path(f"/proc/{follower_pid}").exists() or _zombie(follower_pid),
        "the follower stopped with the worker",
    )


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def test_a_worker_run_once_brings_its_hosts_index_up_to_date_first(embedded, tmp_path):
    paper = make_paper("Pangolin census")
    index_papers([paper.pk])
    node = tmp_path / "worker"
    with node_state.node(node):
        call_command("worker", "--once", stdout=io.StringIO(), stderr=io.StringIO())
        assert words_on(node, "pangolin") == [paper.pk]
        with follower.node_lock():  # another follower keeps this directory: left to it
            call_command("worker", "--once", stdout=io.StringIO(), stderr=io.StringIO())
