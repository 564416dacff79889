"""The embedded engine: writing the lexical index in a second process while an import stores its
next batch.

Indexing in tantivy (tokenising, stemming, building and merging segments) costs about as
much as storing the papers: done inline it was a third of an import's time, and in a thread
its Python half still queued on the importer's GIL. Inside `in_background()` (an import
run) the first batch is indexed inline; from the second on, each batch's transaction marks
its changed papers pending (a row each in search_lexical_pending) and, once it has
committed, hands their ids to an indexing process (index_worker.py) that indexes them from
the database; the next batch's transaction deletes the pending rows of the papers it
reported done. On leaving, the last batches are awaited and their rows deleted, so when an
import returns every paper it stored is searchable, as with inline indexing.

A run killed in between leaves pending rows; `index_pending()` (at the start of every
import, and in `broadsheet embed`, which the worker runs after each ingest) indexes those
papers again: writing an entry twice is harmless, the old one is replaced. The indexing
process ends with its importer (lib/children.py).
"""

from __future__ import annotations

import collections
import logging
import multiprocessing
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager

from django.db import connection, transaction

from broadsheet.search.backends.base import in_list
from broadsheet.search.backends.embedded import lexical_index

log = logging.getLogger("broadsheet.search")

# Batches (of indexing.INDEX_BATCH papers) handed over and not yet indexed, at most: only
# their ids are held, since the indexing process reads the rows. Deep enough that the
# importer runs on while the indexer waits for a merge: 1M records imported 7% faster than
# with 2 (389.5 s vs 418.7 s, bench/ingest.py).
QUEUE_DEPTH = 200
CATCH_UP_BATCH = 5000

_local = threading.local()


class _Writer:
    """The indexing process, fed the ids of committed batches in order; collects the ids
    whose index commit is done. At most QUEUE_DEPTH batches are in flight: beyond that the
    import waits, so a writer that falls behind slows it down instead of filling memory."""

    def __init__(self):
        from broadsheet.search.backends.embedded import index_worker

        self.pool = ProcessPoolExecutor(
            1,
            mp_context=multiprocessing.get_context("spawn"),  # no fork of a running process
            initializer=index_worker.start,
            initargs=(str(connection.settings_dict["NAME"]),),
        )
        self.write = index_worker.write
        self.in_flight: collections.deque[tuple[Future, list[int]]] = collections.deque()
        self.done: list[int] = []
        self.error: BaseException | None = None

    def submit(self, ids: list[int]) -> None:
        self._collect(keep=QUEUE_DEPTH - 1)
        self.in_flight.append((self.pool.submit(self.write, ids), ids))

    def _collect(self, keep: int) -> None:
        """Wait until at most `keep` batches are in flight; note the finished ones."""
        while self.in_flight and (len(self.in_flight) > keep or self.in_flight[0][0].done()):
            future, ids = self.in_flight.popleft()
            try:
                future.result()
            except BaseException as e:  # reported to the import at its next batch
                self.error = self.error or e
            else:
                self.done += ids

    def take_done(self) -> list[int]:
        self._collect(keep=len(self.in_flight))
        done, self.done = self.done, []
        return done

    def finish(self) -> None:
        self._collect(keep=0)
        self.pool.shutdown()

    def check(self) -> None:
        if self.error is not None:
            raise RuntimeError(f"writing the lexical index failed: {self.error}") from self.error


class _Run:
    """One import: its first batch is indexed inline (a short import, such as a submitted
    paper or a page of arXiv results, never starts a process); later ones in the process."""

    def __init__(self):
        self.batches = 0
        self.writer: _Writer | None = None


def active() -> bool:
    return getattr(_local, "run", None) is not None


def write_or_defer(paper_ids: Sequence[int]) -> None:
    """Within in_background(), in the caller's transaction: index these papers now (the
    run's first batch), or mark them pending and have the indexing process index them once
    the transaction commits."""
    run: _Run = _local.run
    run.batches += 1
    if run.batches == 1:
        lexical_index.write(paper_ids)
        return
    if run.writer is None:
        run.writer = _Writer()
    writer = run.writer
    writer.check()
    ids = sorted({int(i) for i in paper_ids})
    with connection.cursor() as cursor:
        # First forget what the writer finished, then mark this batch: a paper in both
        # stays pending, since its new text is not indexed yet.
        _delete_pending(cursor, writer.take_done())
        cursor.executemany(
            "INSERT INTO search_lexical_pending (paper_id) VALUES (%s) ON CONFLICT DO NOTHING",
            [(i,) for i in ids],
        )
    transaction.on_commit(lambda: writer.submit(ids))


@contextmanager
def in_background() -> Iterator[None]:
    """Index the lexical entries of the papers changed inside this block in a second
    process, from the block's second batch on.

    Only when the block's transactions really commit (not inside an outer atomic block,
    where the other process could not see the rows)."""
    if connection.in_atomic_block or active():
        yield
        return
    index_pending()
    run = _local.run = _Run()
    try:
        yield
    finally:
        _local.run = None
        if run.writer is not None:
            run.writer.finish()
            with transaction.atomic(), connection.cursor() as cursor:
                _delete_pending(cursor, run.writer.take_done())
    if run.writer is not None:
        run.writer.check()


def index_pending() -> int:
    """Index the papers a killed import left pending; returns how many."""
    done = 0
    while True:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT paper_id FROM search_lexical_pending ORDER BY paper_id LIMIT %s",
                [CATCH_UP_BATCH],
            )
            ids = [r[0] for r in cursor.fetchall()]
        if not ids:
            break
        with transaction.atomic():
            lexical_index.write(ids)
            with connection.cursor() as cursor:
                _delete_pending(cursor, ids)
        done += len(ids)
    if done:
        log.info("lexical index: %s papers left pending by an interrupted import indexed", done)
    return done


def forget_pending(ids: Sequence[int]) -> None:
    """These papers were just indexed: they wait no longer."""
    with connection.cursor() as cursor:
        _delete_pending(cursor, ids)


def _delete_pending(cursor, ids: Sequence[int]) -> None:
    for start in range(0, len(ids), CATCH_UP_BATCH):
        chunk = ids[start : start + CATCH_UP_BATCH]
        cursor.execute(f"DELETE FROM search_lexical_pending WHERE paper_id IN {in_list(chunk)}")
