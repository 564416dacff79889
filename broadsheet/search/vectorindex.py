"""SQLite mode's vector index: a usearch HNSW file (int8, cosine) beside the database.

The vectors themselves live in search_document; the file is a derived index, rebuilt from
the database at any time. It is written in generations: a writer (`broadsheet embed`,
`broadsheet reindex`) holds a lock file, builds or updates an index in memory, saves it under
a new name and then records that name in VectorIndexState. A web worker reads that row on
each semantic query (one primary-key read) and, when the name changed, memory-maps the new
file (`view=True`, ~0.02 s), so new vectors are picked up without a restart and workers share
the page cache instead of each holding a copy.

Small indexes are searched exactly (usearch's brute-force mode): perfect recall, and still
well under a millisecond below EXACT_BELOW vectors.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import logging
import math
import os
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from broadsheet.search import snapshot
from broadsheet.search.embedder import DIMENSIONS
from broadsheet.search.fields import from_blob

log = logging.getLogger("broadsheet.search")

EXACT_BELOW = 20_000
# The HNSW graph: links per node and candidates weighed when a vector is added, and vectors
# stored as int8 (searches re-rank candidates by the exact float32 vectors in the database).
# Measured at 1M vectors (bench/search.py corpus, recall@10 of the re-ranked top 10):
# usearch's defaults (16, 128, f16) needed ef 4096 for 0.956 (21.5 ms a search); 32 and 256
# in f16 gave 0.962 with ef 2560 (16.6 ms); in int8 0.963 with ef 1792 (14.8 ms), and a file
# of 630 MB instead of 996 MB (874 MB with the defaults). A build takes longer: at 300k 300 s
# against 137 s with the defaults (1M in 1018 s on 2 cores; embedding those papers takes hours).
CONNECTIVITY = 32
EXPANSION_ADD = 256
DTYPE = "i8"
# HNSW ef at query time grows with the index: (vectors, ef) that gave recall@10 0.96 with
# this graph (0.966 at 300k, 0.963 at 1M; at 1M, ef 1024 gave 0.929). Smaller indexes use
# the first; between and beyond, the power law through both, capped since past 1M it is not
# measured.
EXPANSION_MEASURED = ((300_000, 512), (1_000_000, 1792))
EXPANSION_MAX = 4096
KEEP_OLD_SECONDS = 3600  # older generations are deleted after this (workers may map them)
CHUNK = 20_000

_cache_lock = threading.Lock()
_cache: dict[str, object] = {}  # path of the current generation -> usearch Index (a view)


def index_dir() -> Path:
    """A folder beside the SQLite database, named after it (so the test database and the
    real one never share an index)."""
    name = str(connection.settings_dict["NAME"])
    if not name or name == ":memory:" or name.startswith("file:"):
        return Path(settings.DATA_DIR) / "vectors-memory"
    path = Path(name)
    return path.parent / f"{path.name}-vectors"


def usearch_index_class():
    """usearch's Index class. onnxruntime 1.32 crashes the process (SIGSEGV) when it is
    imported after usearch 2.26 (measured here; the other order is fine), so it goes first."""
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        pass
    from usearch.index import Index

    return Index


def new_index():
    Index = usearch_index_class()
    return Index(
        ndim=DIMENSIONS,
        metric="cos",
        dtype=DTYPE,
        connectivity=CONNECTIVITY,
        expansion_add=EXPANSION_ADD,
    )


def expansion_search(size: int) -> int:
    """The query-time ef for an index of `size` vectors."""
    (size_a, ef_a), (size_b, ef_b) = EXPANSION_MEASURED
    if size <= size_a:
        return ef_a
    growth = math.log(ef_b / ef_a) / math.log(size_b / size_a)
    return min(EXPANSION_MAX, round(ef_a * (size / size_a) ** growth))


def _state():
    from broadsheet.search.models import VectorIndexState

    return VectorIndexState.objects.filter(id=1).first()


def current() -> tuple[object | None, int]:
    """The current generation as a memory-mapped index (or None), and its size (the same
    throughout a `snapshot.pinned()` block, such as a search)."""
    return snapshot.once("vectors", _latest)


def _latest() -> tuple[object | None, int]:
    # Raw SQL: this runs for every query, and the ORM would cost more than the read.
    with connection.cursor() as cursor:
        cursor.execute("SELECT filename, count FROM search_vector_index WHERE id = 1")
        row = cursor.fetchone()
    if row is None or not row[1]:
        return None, 0
    filename, count = row
    path = str(index_dir() / filename)
    index = _cache.get(path)
    if index is None:
        with _cache_lock:
            index = _cache.get(path)
            if index is None:
                if not os.path.exists(path):
                    log.warning("vector index %s is missing; run `broadsheet reindex`", path)
                    return None, 0
                index = usearch_index_class().restore(path, view=True)
                index.expansion_search = expansion_search(len(index))
                _cache.clear()  # drop the old generation's mapping
                _cache[path] = index
    return index, count


def search(vector: np.ndarray, k: int, generation: tuple | None = None) -> list[tuple[int, float]]:
    """Nearest (paper id, cosine similarity), best first. `generation`: what `current()`
    returned, when the caller read it already (or in another thread: it reads the database)."""
    index, size = generation if generation is not None else current()
    if index is None:
        return []
    k = min(k, size)
    matches = index.search(vector.astype(np.float32), k, exact=size < EXACT_BELOW)
    return [
        (int(key), 1.0 - float(dist))
        for key, dist in zip(matches.keys, matches.distances, strict=True)
    ]


@contextmanager
def _writer_lock() -> Iterator[Path]:
    folder = index_dir()
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two writers at once queue here
        try:
            yield folder
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _vectors(where: str, params: list) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(ids, vectors) of stored embeddings, in chunks, in id order."""
    last = -1
    while True:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT paper_id, embedding FROM search_document WHERE embedded_at IS NOT NULL "
                f"AND paper_id > %s{where} ORDER BY paper_id LIMIT %s",
                [last, *params, CHUNK],
            )
            rows = cursor.fetchall()
        if not rows:
            return
        last = rows[-1][0]
        ids = np.array([r[0] for r in rows], dtype=np.uint64)
        yield ids, np.stack([from_blob(r[1]) for r in rows])


def sync(full: bool = False) -> int:
    """Write a new generation holding every stored vector; returns its size.

    Incremental unless `full` (or there is no usable generation): the current file is loaded,
    vectors embedded since it was built are (re)added and vectors dropped since are removed.
    """
    from broadsheet.search.models import VectorIndexState

    with _writer_lock() as folder:
        state = _state()
        started = timezone.now()
        old_path = folder / state.filename if state else None
        index = None
        if not full and state and state.synced_until and old_path.exists():
            index = usearch_index_class().restore(str(old_path))
            index.expansion_add = EXPANSION_ADD  # a setting, not saved in the file
        if index is None:
            index = new_index()
            for ids, vectors in _vectors("", []):
                index.add(ids, vectors)
        else:
            # A little slack for clocks of concurrent writers; re-adding is harmless.
            since = state.synced_until - dt.timedelta(seconds=5)
            for ids, vectors in _vectors(" AND embedded_at >= %s", [since]):
                present = ids[np.asarray(index.contains(ids), dtype=bool)]
                if len(present):
                    index.remove(present)
                index.add(ids, vectors)
            with connection.cursor() as cursor:
                cursor.execute("SELECT paper_id FROM search_document WHERE embedded_at IS NOT NULL")
                wanted = np.fromiter((r[0] for r in cursor), dtype=np.uint64)
            stale = np.setdiff1d(np.asarray(index.keys, dtype=np.uint64), wanted)
            if len(stale):
                index.remove(stale)
        name = f"vectors-{started:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}.usearch"
        tmp = folder / (name + ".tmp")
        index.save(str(tmp))
        os.replace(tmp, folder / name)
        with transaction.atomic():
            VectorIndexState.objects.update_or_create(
                id=1, defaults={"filename": name, "count": len(index), "synced_until": started}
            )
        _cleanup(folder, keep={name, state.filename if state else ""})
        log.info("vector index %s: %d vectors", name, len(index))
        return len(index)


def _cleanup(folder: Path, keep: set[str]) -> None:
    """Delete generations nobody should still be reading (workers map the newest)."""
    cutoff = time.time() - KEEP_OLD_SECONDS
    for path in folder.glob("vectors-*.usearch*"):
        if path.name not in keep and path.stat().st_mtime < cutoff:
            path.unlink(missing_ok=True)
