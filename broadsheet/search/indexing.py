"""Keeping the search index in step with the papers, and the jobs that fill and rebuild it.

- `index_papers(ids)`: documents + lexical index for changed papers, in the caller's
  transaction (the `papers_changed` signal after each ingest batch and the sample load).
- `embed_missing()`: vectors for documents that have none (`broadsheet embed`).
- `reembed()`: vectors of the current model for every document, staged beside the served
  ones and swapped in when all are made (`broadsheet embed --reembed`, and a step of every
  `embed_missing()` while the served vectors are of another model).
- `reindex()`: everything rebuilt from the database (`broadsheet reindex`).
- The spelling vocabulary (spelling.py) is counted by the first two and recounted by the
  third.

All three are idempotent and safe to run twice at once: rows are upserted, a vector is stored
only if its text is still the one it was computed from, and vector-index writers queue on a
lock.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
from django.db import connection, transaction

from broadsheet.lib.progress import progress_bar
from broadsheet.search import spelling
from broadsheet.search.backends import follows_changes, get_backend
from broadsheet.search.backends.base import PaperText, served_model, text_hash
from broadsheet.search.backends.protocol import IndexProblem
from broadsheet.search.embedder import BATCH_SIZE, embed_texts, model_name, paper_text

log = logging.getLogger("broadsheet.search")

# How long saved searches wait for a host's own indexes to be built (about 150 s at 1M papers).
SEARCHABLE_WAIT_SECONDS = 600.0

# Papers per transaction (and per lexical-index commit): an index commit has a fixed cost,
# and five small commits cost much more than one large one. An ingest batch
# (upsert.BATCH_SIZE) comes in a few of these, handed to the indexing process one by one.
INDEX_BATCH = 5000
EMBED_CHUNK = 256  # vectors written per transaction
# Below this many papers a worker pool costs more to start (2-3 s: each worker loads the
# model) than it saves.
POOL_MIN = 1000
# With a pool, a chunk's last texts keep one worker busy while the other waits, and both wait
# while the chunk is written: larger chunks make that a smaller share.
POOL_CHUNK = 4 * EMBED_CHUNK
SYNC_EVERY = 50_000  # a new vector-index generation this often during a long embed run
# Papers re-embedded by one embed_missing() (a worker run) while a site changes model.
REEMBED_STEP = 20_000

EmbedFn = Callable[[list[str]], np.ndarray]


def index_papers(paper_ids: Sequence[int], texts: Mapping[int, PaperText] | None = None) -> int:
    """Create or refresh the search documents and lexical entries of these papers.
    `texts` may give (title, abstract, author names) of some of them, as just stored."""
    backend = get_backend()
    ids = sorted({int(i) for i in paper_ids})
    done = 0
    for start in range(0, len(ids), INDEX_BATCH):
        with transaction.atomic():
            found = backend.index_documents(ids[start : start + INDEX_BATCH], texts)
        done += len(found)
        if found:
            spelling.count_or_defer(found)
    return done


def bulk_import():
    """What the current backend does around an import's batches (a bulk_change_hooks hook)."""
    return get_backend().bulk_import()


def on_papers_changed(sender, paper_ids: Sequence[int] = (), texts=None, **kwargs) -> None:
    if paper_ids:
        index_papers(paper_ids, texts)


def index_missing(progress: bool = False) -> int:
    """Index papers that have no search document yet (ingested before search existed, or
    by a path that sent no signal)."""
    done = 0
    bar = progress_bar("Indexing", unit="papers") if progress else None
    while True:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT p.id FROM papers_paper p LEFT JOIN search_document d "
                "ON d.paper_id = p.id WHERE d.paper_id IS NULL ORDER BY p.id LIMIT %s",
                [INDEX_BATCH * 10],
            )
            ids = [r[0] for r in cursor.fetchall()]
        if not ids:
            break
        index_papers(ids)
        done += len(ids)
        if bar is not None:
            bar.update(len(ids))
    if bar is not None:
        bar.close()
    return done


@dataclass
class EmbedCounts:
    indexed: int = 0
    embedded: int = 0
    vectors_in_index: int | None = None
    workers: int = 1  # processes that ran the model

    def __str__(self) -> str:
        text = f"{self.indexed} papers newly indexed, {self.embedded} embedded"
        if self.workers > 1:
            text += f" by {self.workers} worker processes"
        if self.vectors_in_index is not None:
            text += f", {self.vectors_in_index} vectors in the index"
        return text


def _missing(after: int, limit: int) -> list[tuple[int, str, str]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT p.id, p.title, p.abstract FROM search_document d "
            "JOIN papers_paper p ON p.id = d.paper_id "
            "WHERE d.embedded_at IS NULL AND d.paper_id > %s ORDER BY d.paper_id LIMIT %s",
            [after, limit],
        )
        return cursor.fetchall()


def count_missing() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM search_document WHERE embedded_at IS NULL")
        return cursor.fetchone()[0]


def model_id(name: str) -> int:
    from broadsheet.search.models import EmbeddingModel

    return EmbeddingModel.objects.get_or_create(name=name)[0].pk


def store_vectors(items: Sequence[tuple[int, np.ndarray, str]], model: str) -> None:
    """Store (paper id, vector, text hash) made by `model`: served at once when the served
    vectors are of that model (or there are none), else staged for the next swap."""
    backend = get_backend()
    if served_model() in (None, model):
        backend.store_vectors(items, model_id(model))
    else:
        backend.stage_vectors(items, model_id(model))


@contextmanager
def _papers_model(
    embed: EmbedFn | None, batch_size: int, workers: int, todo: int
) -> Iterator[tuple[EmbedFn, int, int]]:
    """(embed function, papers per chunk, processes running the model): `embed` if given
    (tests), else `workers` processes (embed_pool.py) when there are at least POOL_MIN papers
    to embed, else this process."""
    if embed is None and workers > 1 and todo >= POOL_MIN:
        from broadsheet.search.embed_pool import EmbedPool
        from broadsheet.search.embedder import papers_model

        with EmbedPool(workers, papers_model()) as pool:
            yield (lambda t: pool.embed(t, batch_size=batch_size)), POOL_CHUNK, workers
        return
    yield embed or (lambda texts: embed_texts(texts, batch_size=batch_size)), EMBED_CHUNK, 1


def embed_missing(
    batch_size: int = BATCH_SIZE,
    limit: int | None = None,
    progress: bool = False,
    embed: EmbedFn | None = None,
    workers: int = 1,
    on_batch: Callable[[int], object] | None = None,
) -> EmbedCounts:
    """Compute and store vectors for every document without one, then update the vector
    index. `embed` replaces the model (tests pass precomputed vectors). With `workers` > 1,
    that many processes run the model (embed_pool.py) when there are at least POOL_MIN
    papers to embed. `on_batch(n)` is told of every n vectors stored (a caller's progress).

    While the served vectors are of another model than the current one, this re-embeds
    instead (a step of at most `limit`, or REEMBED_STEP, papers): the worker's embedding
    job so brings a site onto a new model in the background."""
    backend = get_backend()
    backend.catch_up()  # what an interrupted import left unindexed
    counts = EmbedCounts(indexed=index_missing())
    spelling.count_pending()  # words of papers imported in bulk
    served = served_model()
    if served not in (None, model_name()):
        log.warning("search vectors are from %s; re-embedding with %s", served, model_name())
        step = limit if limit is not None else REEMBED_STEP
        done = reembed(batch_size, step, progress, embed, workers)
        counts.embedded = done.embedded
        counts.vectors_in_index = done.vectors_in_index
        return counts
    total = count_missing()
    if limit is not None:
        total = min(total, limit)
    current = model_id(model_name())
    with _papers_model(embed, batch_size, workers, total) as (run, chunk, counts.workers):
        bar = progress_bar("Embedding", total=total) if progress else None
        last, since_sync = -1, 0
        while counts.embedded < total:
            rows = _missing(last, min(chunk, total - counts.embedded))
            if not rows:
                break
            last = rows[-1][0]
            vectors = run([paper_text(title, abstract) for _, title, abstract in rows])
            with transaction.atomic():
                backend.store_vectors(
                    [
                        (pid, vec, text_hash(t, a))
                        for (pid, t, a), vec in zip(rows, vectors, strict=True)
                    ],
                    current,
                )
            counts.embedded += len(rows)
            since_sync += len(rows)
            if bar is not None:
                bar.update(len(rows))
            if on_batch is not None:
                on_batch(len(rows))
            if since_sync >= SYNC_EVERY:
                backend.sync_vectors()
                since_sync = 0
        if bar is not None:
            bar.close()
    counts.vectors_in_index = backend.sync_vectors()
    log.info("embed: %s", counts)
    return counts


@dataclass
class ReembedCounts:
    embedded: int = 0  # vectors made (and staged) by this run
    remaining: int = 0  # documents still without a vector of the current model
    swapped: int = 0  # vectors moved from staging to the served ones (0: not yet complete)
    vectors_in_index: int | None = None

    def __str__(self) -> str:
        text = f"{self.embedded} re-embedded, {self.remaining} to go"
        if self.swapped:
            text += f", {self.swapped} vectors swapped in"
        if self.vectors_in_index is not None:
            text += f", {self.vectors_in_index} vectors in the index"
        return text


_NOT_CURRENT = (
    "FROM search_document d JOIN papers_paper p ON p.id = d.paper_id "
    "WHERE (d.model_id IS NULL OR d.model_id <> %s OR d.embedded_at IS NULL) "
    "AND NOT EXISTS (SELECT 1 FROM search_staged_vector s "
    "WHERE s.paper_id = d.paper_id AND s.model_id = %s)"
)


def reembed(
    batch_size: int = BATCH_SIZE,
    limit: int | None = None,
    progress: bool = False,
    embed: EmbedFn | None = None,
    workers: int = 1,
) -> ReembedCounts:
    """Give every document a vector of the current model, staged beside the served ones
    (searches meanwhile use the served vectors, with queries embedded for their model);
    when none is missing, swap them all in one transaction and rebuild the vector index.
    Resumable: what a killed run staged is kept. Stops after `limit` papers."""
    backend = get_backend()
    current = model_id(model_name())
    counts = ReembedCounts()
    with transaction.atomic(), connection.cursor() as cursor:
        # Staged by a run for yet another model, or for a text that has changed since.
        cursor.execute(
            "DELETE FROM search_staged_vector WHERE model_id <> %s OR NOT EXISTS "
            "(SELECT 1 FROM search_document d WHERE d.paper_id = search_staged_vector.paper_id "
            "AND d.text_hash IN (search_staged_vector.text_hash, ''))",
            [current],
        )
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) {_NOT_CURRENT}", [current, current])
        total = cursor.fetchone()[0]
    todo = total if limit is None else min(total, limit)
    with _papers_model(embed, batch_size, workers, todo) as (run, chunk, _):
        bar = progress_bar("Re-embedding", total=todo) if progress and todo else None
        last = -1
        while counts.embedded < todo:
            with connection.cursor() as cursor:
                cursor.execute(
                    f"SELECT p.id, p.title, p.abstract {_NOT_CURRENT} AND d.paper_id > %s "
                    "ORDER BY d.paper_id LIMIT %s",
                    [current, current, last, min(chunk, todo - counts.embedded)],
                )
                rows = cursor.fetchall()
            if not rows:
                break
            last = rows[-1][0]
            vectors = run([paper_text(title, abstract) for _, title, abstract in rows])
            items = [
                (pid, vec, text_hash(t, a)) for (pid, t, a), vec in zip(rows, vectors, strict=True)
            ]
            with transaction.atomic():
                backend.stage_vectors(items, current)
            counts.embedded += len(rows)
            if bar is not None:
                bar.update(len(rows))
        if bar is not None:
            bar.close()
    counts.remaining = total - counts.embedded
    if counts.remaining <= 0:
        with transaction.atomic():
            counts.swapped = backend.swap_staged_vectors(current)
        counts.remaining = 0
        counts.vectors_in_index = backend.sync_vectors(full=True)
    log.info("reembed: %s", counts)
    return counts


@dataclass
class ReindexCounts:
    lexical: int = 0
    vectors: int | None = None

    def __str__(self) -> str:
        text = f"{self.lexical} papers in the lexical index"
        if self.vectors is not None:
            text += f", {self.vectors} vectors in the vector index"
        return text


def reindex(progress: bool = False) -> ReindexCounts:
    """Rebuild documents, the lexical index and the vector index from the database. Vectors
    are kept (no re-embedding) unless a paper's text changed."""
    backend = get_backend()
    counts = ReindexCounts()
    backend.catch_up()
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM papers_paper")
        total = cursor.fetchone()[0]
    bar = progress_bar("Reindexing", total=total) if progress else None
    last = -1
    while True:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT id FROM papers_paper WHERE id > %s ORDER BY id LIMIT %s",
                [last, INDEX_BATCH],
            )
            ids = [r[0] for r in cursor.fetchall()]
        if not ids:
            break
        last = ids[-1]
        counts.lexical += index_papers(ids)
        if bar is not None:
            bar.update(len(ids))
    if bar is not None:
        bar.close()
    backend.prune()
    spelling.recount()
    counts.vectors = backend.sync_vectors(full=True)
    log.info("reindex: %s", counts)
    return counts


def wait_until_searchable(timeout: float = SEARCHABLE_WAIT_SECONDS, every: float = 2.0) -> bool:
    """Where each host keeps its own search indexes (follows_changes()), wait until this
    host's are built, so that saved searches (digests, channels) do not run on an empty
    index and find nothing; True once searchable, False (logged) after `timeout` seconds."""
    if not follows_changes():
        return True
    deadline = time.monotonic() + timeout
    told = False
    while True:
        try:
            get_backend().health()
            return True
        except IndexProblem as e:
            if time.monotonic() >= deadline:
                log.error("searching anyway after %.0f s: %s", timeout, e)
                return False
            if not told:
                log.info("waiting for this host's search index: %s", e)
                told = True
        time.sleep(every)
