"""A node's search follower: keeps the node's own tantivy and vector indexes in step with
PostgreSQL (BROADSHEET_SEARCH_ENGINE=embedded), by replaying the change log.

The log: triggers (migration search 0007) add a row (paper id, the writing transaction's id
`xid`) to search_outbox for each paper whose searchable rows change, in the transaction that
changes them, and NOTIFY search_outbox, which PostgreSQL delivers when it commits.

Why the position is a transaction id and not the row's sequence number: numbers are drawn
when a row is written but become visible when its transaction commits, so a later number can
be seen first, and a follower that moved past it would never see the earlier one. Instead a
node's watermark W says "every change written by a transaction with an id below W is
indexed". Each step reads, in one statement (one snapshot), the rows with xid >= W and the
snapshot's xmin: every transaction below xmin has ended and its rows are visible, for good;
any transaction that has not ended, or not started writing, has an id >= xmin. So after
indexing the rows read, the watermark moves to xmin and nothing can be passed over. Rows of
transactions >= xmin that have already committed are indexed at once too (a long transaction
elsewhere does not hold new papers back) and read again by the next steps until xmin passes
them: replaying a paper is idempotent, it is indexed again from its current rows. Rows
already indexed by this process are skipped on those re-reads.

Kill-safety: the watermark is written to the node's state file (node_state.py) only after
the batch's tantivy commit is on disk; killed before that, the follower replays the batch.
Vector changes wait for the next apply (VECTOR_APPLY_SECONDS): the ids of the papers whose
vectors may have changed are kept in the state ("vector_pending") by the same write that
moves the watermark past their changes, and a restarted follower applies them first.

A fresh node (no state file) registers in search_node, waits for transactions that may have
started before the registration (they might not have logged their changes: the triggers log
only once some node follows), builds both indexes from the database, and starts following
from the xmin it read before the build.

Pruning: each follower records its watermark in search_node; log rows below every live
node's watermark are deleted, and a node silent for STALE_AFTER is dropped from search_node.
Such a node finds the pruned floor above its watermark when it returns, and rebuilds.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import logging
import math
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection

from broadsheet.search.backends.embedded import lexical_index, node_state, vectorindex

log = logging.getLogger("broadsheet.search")

POLL_SECONDS = 5.0  # at most this long between steps when no notification arrives
BATCH = 20_000  # papers per committed index batch
# Vector changes are applied at most this often, the papers of every step since in one go:
# an apply writes a whole new generation of the faiss file (about 750 MB at 1M papers) for
# any change, so applying each step's few papers would write hundreds of MB every few seconds
# on a busy site. Words are indexed at each step all the same (a changed paper is found by
# its words at once), and hiding needs no index change (every hit is checked in SQL).
VECTOR_APPLY_SECONDS = 30.0
# ...or at once when this many papers wait: the pending ids are kept in the node's state
# file, which every web worker reads again when it changes.
VECTOR_APPLY_BATCH = 10_000
WRITE_CHUNK = 5_000  # papers per tantivy write when building
PRUNE_SECONDS = 60.0
STALE_AFTER = dt.timedelta(days=3)  # a node silent this long is no longer waited for
CHANNEL = "search_outbox"


class FollowerBusy(Exception):
    """Another follower already keeps this node's indexes."""


@contextmanager
def node_lock(wait: bool = False) -> Iterator[None]:
    """One follower per node folder. Another process on the same node is refused, or with
    `wait` stands by until the one keeping it exits (a worker and a server sharing a data
    directory: the second takes over when the first stops)."""
    folder = node_state.node_dir()
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".follow.lock", "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if not wait:
                raise FollowerBusy(
                    f"another follower keeps the search indexes in {folder}"
                ) from None
            log.info("another follower keeps the search indexes in %s; standing by", folder)
            fcntl.flock(lock, fcntl.LOCK_EX)
            log.info("taking over the search indexes in %s", folder)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _snapshot_xmin(cursor) -> int:
    cursor.execute("SELECT pg_snapshot_xmin(pg_current_snapshot())::text")
    return int(cursor.fetchone()[0])


class Follower:
    """Replays the change log into this node's indexes (the folder node_state.node_dir())."""

    def __init__(self) -> None:
        self.seen: set[int] = set()  # log rows at or above the watermark already indexed
        self.last_prune = 0.0
        # Never: the first change after a start is applied at once (and what a killed
        # follower left pending), then at most one apply every VECTOR_APPLY_SECONDS.
        self.last_vector_apply = -math.inf

    # Joining -----------------------------------------------------------------------------

    def name(self) -> str:
        state = node_state.read()
        name = state.get("node")
        if not name:
            name = f"{socket.gethostname()[:60]}-{uuid.uuid4().hex[:12]}"
            node_state.update(node=name)
        return name

    def _register(self, watermark: int) -> None:
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO search_node (name, watermark, seen_at) VALUES (%s, %s::xid8, now()) "
                "ON CONFLICT (name) DO UPDATE SET watermark = excluded.watermark, seen_at = now()",
                [self.name(), str(watermark)],
            )

    def needs_build(self) -> bool:
        state = node_state.read()
        watermark = state.get("watermark")
        name = state.get("lexical")
        if watermark is None or not name or not lexical_index._of_this_version(name):
            return True
        if not (lexical_index.base_dir() / name / "meta.json").exists():
            return True
        vectors = state.get("vectors")
        if vectors and not (vectorindex.index_dir() / vectors["filename"]).exists():
            return True
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT xid > %s::xid8 FROM search_outbox_floor WHERE id = 1", [str(watermark)]
            )
            row = cursor.fetchone()
        return bool(row and row[0])  # log rows this node needed were pruned

    def build(self) -> int:
        """Build both indexes from the database and record where following starts; returns
        how many papers were indexed."""
        node_state.update(watermark=None)
        with connection.cursor() as cursor:
            self._register(_snapshot_xmin(cursor))  # from now on every writer logs changes
            cursor.execute("SELECT clock_timestamp()")
            registered_at = cursor.fetchone()[0]
            # Transactions of this database that began before the registration committed
            # may not have logged their changes; the build reads after they have ended.
            while True:
                # Inside a transaction pg_stat_activity is read once and kept: read it anew.
                cursor.execute("SELECT pg_stat_clear_snapshot()")
                cursor.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND pid <> pg_backend_pid() AND xact_start < %s",
                    [registered_at],
                )
                if not cursor.fetchone()[0]:
                    break
                time.sleep(0.05)
            start = _snapshot_xmin(cursor)
        name = lexical_index.new_name()
        done = 0
        for ids in _paper_id_batches(WRITE_CHUNK):
            lexical_index.write(ids, into=name)
            done += len(ids)
        if not done:
            lexical_index.write([], into=name)  # no papers yet: an empty index, not none
        vectorindex.sync(full=True)
        node_state.update(lexical=name, watermark=str(start), vector_pending=None)
        lexical_index._cleanup(lexical_index.base_dir(), keep=name)  # earlier builds
        self.seen = set()
        self._heartbeat(start)
        log.info("search index of this node built: %d papers, following from %s", done, start)
        return done

    def prepare(self) -> None:
        """Build the indexes if this node has none usable."""
        if self.needs_build():
            self.build()

    # Following ---------------------------------------------------------------------------

    def step(self) -> int:
        """Index what changed since the watermark; returns how many papers were indexed."""
        if self.needs_build():
            return self.build()
        watermark = int(node_state.read()["watermark"])
        with connection.cursor() as cursor:
            # One statement: the rows and xmin come from one snapshot.
            cursor.execute(
                "SELECT s.xmin::text, o.seq, o.paper_id, o.xid::text "
                "FROM (SELECT pg_snapshot_xmin(pg_current_snapshot()) AS xmin) s "
                "LEFT JOIN search_outbox o ON o.xid >= %s::xid8 ORDER BY o.xid, o.seq",
                [str(watermark)],
            )
            rows = cursor.fetchall()
        xmin = int(rows[0][0])
        rows = [(seq, pid, int(xid)) for _, seq, pid, xid in rows if seq is not None]
        indexed = 0
        batch: set[int] = set()
        for i, (seq, pid, xid) in enumerate(rows):
            if xid >= xmin:
                break  # the rest: transactions xmin has not passed
            if seq not in self.seen:
                batch.add(pid)
            following = rows[i + 1][2] if i + 1 < len(rows) else xmin
            if len(batch) >= BATCH and following != xid:
                indexed += self._commit(batch, min(following, xmin))
                batch = set()
        open_rows = [(seq, pid) for seq, pid, xid in rows if xid >= xmin]
        batch |= {pid for seq, pid in open_rows if seq not in self.seen}
        indexed += self._commit(batch, xmin)
        self.seen = {seq for seq, _ in open_rows}
        return indexed

    def _commit(self, ids: set[int], watermark: int) -> int:
        """Index these papers' words, then record that every change below `watermark` is
        indexed; their vectors join the pending ones, applied when due."""
        ordered = sorted(ids)
        for start in range(0, len(ordered), WRITE_CHUNK):
            lexical_index.write(ordered[start : start + WRITE_CHUNK])
        pending = ids | set(node_state.read().get("vector_pending", ()))
        if pending and (
            time.monotonic() - self.last_vector_apply >= VECTOR_APPLY_SECONDS
            or len(pending) >= VECTOR_APPLY_BATCH
        ):
            self._apply(pending)
            pending = set()
        # One write: the watermark never passes a change whose vector is neither applied
        # nor pending.
        node_state.update(watermark=str(watermark), vector_pending=sorted(pending) or None)
        self._heartbeat(watermark)
        return len(ids)

    def _apply(self, ids: set[int]) -> None:
        vectorindex.apply(sorted(ids))
        self.last_vector_apply = time.monotonic()

    def apply_vectors(self) -> int:
        """Apply the pending vector changes now (`search-follow --once`); returns how many
        papers were pending."""
        pending = set(node_state.read().get("vector_pending", ()))
        if pending:
            self._apply(pending)
            node_state.update(vector_pending=None)
        return len(pending)

    def _heartbeat(self, watermark: int) -> None:
        self._register(watermark)

    def prune(self) -> int:
        """Drop nodes silent for STALE_AFTER and log rows every remaining node has passed;
        returns how many rows were deleted."""
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM search_node WHERE seen_at < now() - %s", [STALE_AFTER])
            cursor.execute("SELECT min(watermark)::text FROM search_node")
            floor = cursor.fetchone()[0]
            if floor is None:
                return 0
            cursor.execute("DELETE FROM search_outbox WHERE xid < %s::xid8", [floor])
            deleted = cursor.rowcount
            cursor.execute(
                "INSERT INTO search_outbox_floor (id, xid) VALUES (1, %s::xid8) "
                "ON CONFLICT (id) DO UPDATE SET xid = greatest(search_outbox_floor.xid, "
                "excluded.xid)",
                [floor],
            )
        self.last_prune = time.monotonic()
        return deleted

    def run(self, stop: threading.Event | None = None, poll: float = POLL_SECONDS) -> None:
        """Follow until `stop` is set: a step on every notification, or every `poll` s."""
        stop = stop or threading.Event()
        listener = connection.get_new_connection(connection.get_connection_params())
        try:
            listener.autocommit = True
            listener.execute(f"LISTEN {CHANNEL}")  # before the first step: nothing missed
            self.prepare()
            while not stop.is_set():
                self.step()
                if time.monotonic() - self.last_prune >= PRUNE_SECONDS:
                    self.prune()
                for _ in listener.notifies(timeout=poll, stop_after=1):
                    pass
        finally:
            listener.close()


def _paper_id_batches(size: int) -> Iterator[list[int]]:
    last = -1
    while True:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT id FROM papers_paper WHERE id > %s ORDER BY id LIMIT %s", [last, size]
            )
            ids = [r[0] for r in cursor.fetchall()]
        if not ids:
            return
        yield ids
        last = ids[-1]


def vectors_pending() -> int:
    """How many papers' vectors wait for this node's next vector apply."""
    return len(node_state.read().get("vector_pending", ()))


def lag() -> int:
    """How many log rows this node has not yet passed (its watermark's distance)."""
    watermark = node_state.read().get("watermark")
    if watermark is None:
        return -1
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM search_outbox WHERE xid >= %s::xid8", [watermark])
        return cursor.fetchone()[0]
