"""Keeping the search index in step with the papers, and the jobs that fill and rebuild it.

- `index_papers(ids)`: documents + lexical index for changed papers, in the caller's
  transaction (the `papers_changed` signal after each ingest batch and the sample load).
- `embed_missing()`: vectors for documents that have none (`broadsheet embed`).
- `reindex()`: everything rebuilt from the database (`broadsheet reindex`).
- The spelling vocabulary (spelling.py) is counted by the first two and recounted by the
  third.

All three are idempotent and safe to run twice at once: rows are upserted, a vector is stored
only if its text is still the one it was computed from, and vector-index writers queue on a
lock.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from django.db import connection, transaction

from broadsheet.lib.progress import progress_bar
from broadsheet.search import lexical_pipeline, spelling
from broadsheet.search.backends import get_backend
from broadsheet.search.backends.base import PaperText, text_hash
from broadsheet.search.embedder import BATCH_SIZE, embed_texts, paper_text

log = logging.getLogger("broadsheet.search")

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

EmbedFn = Callable[[list[str]], np.ndarray]


def index_papers(paper_ids: Sequence[int], texts: Mapping[int, PaperText] | None = None) -> int:
    """Create or refresh the search documents and lexical entries of these papers.
    `texts` may give (title, abstract, author names) of some of them, as just stored."""
    backend = get_backend()
    ids = sorted({int(i) for i in paper_ids})
    done = 0
    for start in range(0, len(ids), INDEX_BATCH):
        with transaction.atomic():
            found = backend.sync_documents(ids[start : start + INDEX_BATCH], texts)
            if found:
                backend.index_lexical(found)
        done += len(found)
        if found:
            spelling.count_or_defer(found)
    return done


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


def embed_missing(
    batch_size: int = BATCH_SIZE,
    limit: int | None = None,
    progress: bool = False,
    embed: EmbedFn | None = None,
    workers: int = 1,
) -> EmbedCounts:
    """Compute and store vectors for every document without one, then update the vector
    index. `embed` replaces the model (tests pass precomputed vectors). With `workers` > 1,
    that many processes run the model (embed_pool.py) when there are at least POOL_MIN
    papers to embed."""
    lexical_pipeline.index_pending()  # what an interrupted import left unindexed
    counts = EmbedCounts(indexed=index_missing())
    spelling.count_pending()  # words of papers imported in bulk
    total = count_missing()
    if limit is not None:
        total = min(total, limit)
    if embed is None and workers > 1 and total >= POOL_MIN:
        from broadsheet.search.embed_pool import EmbedPool
        from broadsheet.search.embedder import papers_model

        counts.workers = workers
        with EmbedPool(workers, papers_model()) as pool:
            return _embed(
                counts, total, lambda t: pool.embed(t, batch_size=batch_size), progress, POOL_CHUNK
            )
    embed = embed or (lambda texts: embed_texts(texts, batch_size=batch_size))
    return _embed(counts, total, embed, progress)


def _embed(
    counts: EmbedCounts, total: int, embed: EmbedFn, progress: bool, chunk: int = EMBED_CHUNK
) -> EmbedCounts:
    backend = get_backend()
    bar = progress_bar("Embedding", total=total) if progress else None
    last, since_sync = -1, 0
    while counts.embedded < total:
        rows = _missing(last, min(chunk, total - counts.embedded))
        if not rows:
            break
        last = rows[-1][0]
        vectors = embed([paper_text(title, abstract) for _, title, abstract in rows])
        with transaction.atomic():
            backend.store_vectors(
                [
                    (pid, vec, text_hash(t, a))
                    for (pid, t, a), vec in zip(rows, vectors, strict=True)
                ]
            )
        counts.embedded += len(rows)
        since_sync += len(rows)
        if bar is not None:
            bar.update(len(rows))
        if since_sync >= SYNC_EVERY:
            backend.sync_vectors()
            since_sync = 0
    if bar is not None:
        bar.close()
    if backend.vendor == "sqlite":
        backend.sync_vectors()
        from broadsheet.search import vectorindex

        counts.vectors_in_index = vectorindex.current()[1]
    log.info("embed: %s", counts)
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
    lexical_pipeline.index_pending()
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
    if backend.vendor == "sqlite":
        from broadsheet.search import vectorindex

        counts.vectors = vectorindex.sync(full=True)
    log.info("reindex: %s", counts)
    return counts
