"""SQLite mode: writing the lexical index in a thread while an import stores its next batch.

Indexing in tantivy (tokenising, stemming, building and merging segments) is Rust code that
releases the GIL, and costs about as much as storing the papers: done inline, it was a third
of an import's time. Inside `in_background()` (an import run), each batch's transaction
marks its changed papers pending (a row each in search_lexical_pending) and, once it has
committed, hands their ids to a thread that indexes them from the database; the next batch's
transaction deletes the pending rows of the papers the thread reported done. On leaving,
the thread's last batch is awaited and its rows deleted, so when an import returns every
paper it stored is searchable, as with inline indexing.

A run killed in between leaves pending rows; `index_pending()` (at the start of every
import, and in `broadsheet embed`, which the worker runs after each ingest) indexes those
papers again: writing an entry twice is harmless, the old one is replaced.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from django.db import connection, transaction

from broadsheet.search import lexical_index
from broadsheet.search.backends.base import in_list

log = logging.getLogger("broadsheet.search")

# Batches handed over and not yet indexed, at most: the import waits beyond this, so a
# thread that falls behind slows the import down instead of holding every batch in memory.
QUEUE_DEPTH = 2
CATCH_UP_BATCH = 5000

_local = threading.local()


class _Writer(threading.Thread):
    """Indexes the ids it is given, in order, and collects the ones whose commit is done."""

    def __init__(self):
        super().__init__(name="lexical-index-writer", daemon=True)
        self.todo: queue.Queue[list[int] | None] = queue.Queue(maxsize=QUEUE_DEPTH)
        self.done: list[int] = []
        self.done_lock = threading.Lock()
        self.error: BaseException | None = None

    def run(self) -> None:
        finished = False
        try:
            while not finished:
                ids = self.todo.get()
                if ids is None:
                    break
                # Take whatever else is waiting too: one commit for several batches.
                while not self.todo.empty():
                    more = self.todo.get_nowait()
                    if more is None:
                        finished = True
                        break
                    ids += more
                lexical_index.write(ids)
                with self.done_lock:
                    self.done += ids
        except BaseException as e:  # reported to the import at its next batch
            self.error = e
            # Keep taking batches until the end, so the import never blocks on a full queue.
            while not finished and self.todo.get() is not None:
                pass
        finally:
            connection.close()  # this thread's own connection

    def take_done(self) -> list[int]:
        with self.done_lock:
            done, self.done = self.done, []
        return done

    def check(self) -> None:
        if self.error is not None:
            raise RuntimeError(f"writing the lexical index failed: {self.error}") from self.error


def active() -> bool:
    return getattr(_local, "writer", None) is not None


def defer(paper_ids: Sequence[int]) -> None:
    """Within in_background(), in the caller's transaction: mark these papers pending and
    have the thread index them once the transaction commits."""
    writer: _Writer = _local.writer
    writer.check()
    ids = sorted({int(i) for i in paper_ids})
    with connection.cursor() as cursor:
        # First forget what the thread finished, then mark this batch: a paper in both
        # stays pending, since its new text is not indexed yet.
        _delete_pending(cursor, writer.take_done())
        cursor.executemany(
            "INSERT INTO search_lexical_pending (paper_id) VALUES (%s) ON CONFLICT DO NOTHING",
            [(i,) for i in ids],
        )
    transaction.on_commit(lambda: writer.todo.put(ids))


@contextmanager
def in_background() -> Iterator[None]:
    """Index the lexical entries of the papers changed inside this block in a thread.

    Only on SQLite (PostgreSQL's index is a column written in the transaction), and only
    when the block's transactions really commit (not inside an outer atomic block, where
    the thread could not see the rows)."""
    if connection.vendor != "sqlite" or connection.in_atomic_block or active():
        yield
        return
    index_pending()
    writer = _Writer()
    writer.start()
    _local.writer = writer
    try:
        yield
    finally:
        _local.writer = None
        writer.todo.put(None)
        writer.join()
        with transaction.atomic(), connection.cursor() as cursor:
            _delete_pending(cursor, writer.take_done())
    writer.check()


def index_pending() -> int:
    """Index the papers a killed import left pending; returns how many (SQLite only)."""
    if connection.vendor != "sqlite":
        return 0
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


def _delete_pending(cursor, ids: Sequence[int]) -> None:
    for start in range(0, len(ids), CATCH_UP_BATCH):
        chunk = ids[start : start + CATCH_UP_BATCH]
        cursor.execute(f"DELETE FROM search_lexical_pending WHERE paper_id IN {in_list(chunk)}")
