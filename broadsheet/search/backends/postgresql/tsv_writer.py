"""PostgreSQL mode: an import's tsvectors written on a second connection while the import
stores its next batch.

Computing a document's tsvector (PostgreSQL's text parser over the title and abstract) and
its GIN entries is most of the server's work in an import, and one connection runs on one
core. Inside `in_background()` (an import run) the first chunk of documents gets its
tsvectors inline, in the same statement that writes it; from the second on, documents are
written without (tsv NULL) and, once their batch has committed, a thread with a connection
of its own fills them in, in transactions of its own. On leaving, the thread is awaited, so
when an import returns every paper it stored is searchable, as with inline indexing.

A run killed in between leaves documents whose tsv is NULL (a partial index finds them);
`catch_up()` fills them in, at the start of every import and in `broadsheet embed`, which
the worker runs after each ingest. A tsvector written twice is the same tsvector.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

from django.db import connection, transaction

log = logging.getLogger("broadsheet.search")

# Chunks (of indexing.INDEX_BATCH papers) handed over and not yet written, at most: beyond
# that the import waits, so a writer that falls behind slows it down instead of piling up.
QUEUE_DEPTH = 8

_local = threading.local()


class _Writer:
    """The thread, fed the ids of committed chunks in order."""

    def __init__(self, write: Callable[[Sequence[int]], None]):
        self.write = write
        self.queue: queue.Queue[list[int] | None] = queue.Queue(maxsize=QUEUE_DEPTH)
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="tsv-writer", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            while (ids := self.queue.get()) is not None:
                if self.error is not None:
                    continue  # keep taking ids, so that the import never waits on a full queue
                try:
                    with transaction.atomic():
                        self.write(ids)
                except Exception as e:  # noqa: BLE001 - caught up after the run, and logged
                    self.error = e
        finally:
            connection.close()  # this thread's own connection

    def submit(self, ids: list[int]) -> None:
        self.queue.put(ids)

    def finish(self) -> None:
        self.queue.put(None)
        self.thread.join()


class _Run:
    def __init__(self):
        self.chunks = 0
        self.writer: _Writer | None = None


def active() -> bool:
    return getattr(_local, "run", None) is not None


def defer(paper_ids: Sequence[int], write: Callable[[Sequence[int]], None]) -> bool:
    """Within in_background(): False for the run's first chunk (write the tsvectors now);
    else True, and `write(ids)` runs on the second connection once the caller's transaction
    has committed."""
    run: _Run = _local.run
    run.chunks += 1
    if run.chunks == 1:
        return False
    if run.writer is None:
        run.writer = _Writer(write)
    writer, ids = run.writer, sorted({int(i) for i in paper_ids})
    transaction.on_commit(lambda: writer.submit(ids))
    return True


@contextmanager
def in_background(catch_up: Callable[[], int]) -> Iterator[None]:
    """Write the tsvectors of the documents changed inside this block on a second
    connection, from its second chunk on. Only when the block's transactions really commit
    (not inside an outer atomic block, where the other connection could not see the rows).
    `catch_up()` fills in what a killed run left, before and after."""
    if connection.in_atomic_block or active():
        yield
        return
    catch_up()
    run = _local.run = _Run()
    try:
        yield
    finally:
        _local.run = None
        if run.writer is not None:
            run.writer.finish()
    if run.writer is not None and run.writer.error is not None:
        log.warning("writing tsvectors on a second connection failed: %s", run.writer.error)
        catch_up()  # what the writer left, on this connection
