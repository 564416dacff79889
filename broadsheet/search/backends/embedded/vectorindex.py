"""The embedded engine's vector index: a faiss IVF file (float16 codes, cosine) beside the
database.

The vectors themselves live in search_document; the file is a derived index, rebuilt from
the database at any time. It is written in generations: a writer (`broadsheet embed`,
`broadsheet reindex`) holds a lock file, builds or updates an index in memory, saves it under
a new name and then records that name in VectorIndexState. A web worker reads that row on
each semantic query (one primary-key read) and, when the name changed, memory-maps the new
file (a few milliseconds), so new vectors are picked up without a restart and workers share
the page cache instead of each holding a copy.

Why an inverted file rather than a graph (HNSW, which this used to be): k-means cuts the
vectors into about 2 sqrt(N) lists, and a query scans the lists of its NPROBE nearest
centroids in contiguous codes, which at 1M vectors is both faster and more accurate than the
best graph tried, and builds in under a minute. Adds and removals are real (ids live in the
lists); a list layout trained on a much smaller corpus is retrained when the index outgrows it.

Why float16 codes rather than 8-bit ones (which earlier versions wrote; such a file is
searched with re-ranking until the next sync rebuilds it): their similarities rank as the
float32 vectors do, so search does not read the candidates' stored vectors (scattered rows on
the request's critical path) to re-rank them. The file is twice as large: a worker maps only
the lists its queries scan, but a cold list costs twice the reads.

Small indexes are searched exactly (a flat index below EXACT_BELOW vectors): perfect recall.

Each generation has a category table beside it (CATEGORIES_SUFFIX): every paper's categories
and archives as the `cat:` filter reads them, as of when the generation was written. A search
filtered by category drops the candidates the table puts outside the category before the
database checks the rest: checking ids costs by the id, and most fail the filter. Papers
changed since the table was read are left to the database; so is every candidate of a
generation without a table (written by an older version).

Measurements behind these choices: bench/README.md, "search.py".
"""

from __future__ import annotations

import datetime as dt
import fcntl
import logging
import math
import os
import shutil
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace

import numpy as np
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from broadsheet.search.backends.base import in_list, served_model
from broadsheet.search.backends.embedded import node_state, snapshot
from broadsheet.search.embedder import DIMENSIONS
from broadsheet.search.fields import from_blob

log = logging.getLogger("broadsheet.search")

EXACT_BELOW = 20_000
# Lists scanned per query (chosen at 1M vectors in 2,000 lists, bench/README.md; at any size a list
# holds about sqrt(N) / 2 vectors, so a search scans about NPROBE * sqrt(N) / 2 codes).
NPROBE = 16
TRAIN_PER_LIST = 64  # k-means sample: faiss asks for at least 39 vectors a list
SUFFIX = ".faiss"
KEEP_OLD_SECONDS = 120  # a replaced generation is deleted this long after (see _cleanup)
CATEGORIES_SUFFIX = ".categories.npz"
TABLE_REFRESH = dt.timedelta(minutes=10)  # a follower's updates re-read categories this often
MEMBER_SETS = 32  # categories whose members a worker keeps (a byte per paper each)
CHUNK = 20_000

_cache_lock = threading.Lock()
_cache: dict[str, object] = {}  # path of the current generation -> faiss index (mapped)
_models: dict[int, str] = {}  # id() of a mapped index -> the model of its vectors
_tables: dict[int, CategoryTable | None] = {}  # id() of a mapped index -> its category table


class CategoryTable:
    """Which categories each paper had when a generation was written (see the module's
    docstring): sorted paper ids, and per paper a run of codes into `terms` (each category
    lower-cased and its archive, as lexical_index's `cat` field). Lookups go through arrays
    indexed by paper id (a byte per id): 750 candidates in a few microseconds."""

    def __init__(self, ids: np.ndarray, offsets: np.ndarray, codes: np.ndarray,
                 terms: list[str], as_of: dt.datetime) -> None:  # fmt: skip
        self.ids, self.offsets, self.codes = ids, offsets, codes
        self.codes_of = {t: i for i, t in enumerate(terms)}
        self.as_of = as_of
        self.size = int(ids[-1]) + 1 if len(ids) else 0
        self.held = np.zeros(self.size, dtype=bool)
        self.held[ids] = True
        self._members: dict[str, np.ndarray] = {}  # term -> a bool per paper id, built once

    def members(self, term: str) -> np.ndarray:
        found = self._members.get(term)
        if found is None:
            found = np.zeros(self.size, dtype=bool)
            code = self.codes_of.get(term)
            if code is not None:
                paper = np.repeat(self.ids, np.diff(self.offsets))
                found[paper[self.codes == code]] = True
            if len(self._members) >= MEMBER_SETS:
                self._members.clear()
            self._members[term] = found
        return found

    def outside(self, ids: np.ndarray, category: str) -> np.ndarray:
        """For each of `ids`, does the table hold it without `category` (a category or an
        archive, any case)? False for ids it does not hold."""
        out = np.zeros(len(ids), dtype=bool)
        inside = (ids >= 0) & (ids < self.size)
        known = ids[inside]
        out[inside] = self.held[known] & ~self.members(category.lower())[known]
        return out


def category_table(generation: tuple | None = None) -> CategoryTable | None:
    """The category table of this generation (by default the current one), or None."""
    index, _ = generation if generation is not None else current()
    return _tables.get(id(index)) if index is not None else None


def index_dir() -> Path:
    """A folder beside the SQLite database, named after it (so the test database and the
    real one never share an index); on PostgreSQL, in this node's search folder."""
    if node_state.node_local():
        return node_state.node_dir() / "vectors"
    name = str(connection.settings_dict["NAME"])
    if not name or name == ":memory:" or name.startswith("file:"):
        return Path(settings.DATA_DIR) / "vectors-memory"
    path = Path(name)
    return path.parent / f"{path.name}-vectors"


def _faiss():
    import faiss

    return faiss


def list_count(size: int) -> int:
    """Inverted lists for an index of `size` vectors (0: a flat, exact index)."""
    return 0 if size < EXACT_BELOW else max(1, round(2 * math.sqrt(size)))


def _outgrown(index, size: int) -> bool:
    """Is `index` the wrong kind for `size` vectors? (A flat index past EXACT_BELOW, or lists
    trained for a quarter of the vectors or fewer: each list would hold twice its share.)"""
    lists = list_count(size)
    if not _is_ivf(index):
        return lists > 0
    return lists >= 2 * index.nlist


def _is_ivf(index) -> bool:
    return isinstance(index, _faiss().IndexIVF)


def precise(index) -> bool:
    """Do this index's similarities rank as the stored float32 vectors do? (Exact for a flat
    index, float16 codes; not for the 8-bit codes of files an older version wrote, whose
    candidates search re-ranks by their stored vectors.)"""
    if not _is_ivf(index):
        return True
    faiss = _faiss()
    quantizer = getattr(faiss.downcast_index(index), "sq", None)
    return quantizer is not None and quantizer.qtype == faiss.ScalarQuantizer.QT_fp16


def state():
    """The current generation (filename, count, model, synced_until), or None."""
    from broadsheet.search.models import VectorIndexState

    if node_state.node_local():
        vectors = node_state.read().get("vectors")
        if not vectors:
            return None
        until = vectors.get("synced_until")
        return SimpleNamespace(
            filename=vectors["filename"],
            count=vectors["count"],
            model=vectors.get("model", ""),
            synced_until=dt.datetime.fromisoformat(until) if until else None,
        )
    return VectorIndexState.objects.filter(id=1).first()


def current() -> tuple[object | None, int]:
    """The current generation as a memory-mapped index (or None), and its size (the same
    throughout a `snapshot.pinned()` block, such as a search)."""
    return snapshot.once("vectors", _latest)


def current_model() -> str | None:
    """The model of the current generation's vectors (of the same generation as current())."""
    index, _ = current()
    return _models.get(id(index)) if index is not None else None


def _latest() -> tuple[object | None, int]:
    tried = None
    while True:
        row = _current_row()
        if row is None or not row[1]:
            return None, 0
        filename, count, model = row
        if not filename.endswith(SUFFIX) or filename == tried:
            # Missing, or written by an older version (a usearch graph).
            log.warning("vector index %s is missing; run `broadsheet reindex`", filename)
            return None, 0
        index = _mapped(str(index_dir() / filename), model)
        if index is not None:
            return index, count
        # Gone between reading its name and opening it: replaced and deleted meanwhile (read
        # the name again), or missing (the same name again).
        tried = filename


def _current_row() -> tuple[str, int, str | None] | None:
    """(filename, count, model) of the current generation, as the state records it."""
    if node_state.node_local():
        vectors = node_state.read().get("vectors")
        return (vectors["filename"], vectors["count"], vectors.get("model")) if vectors else None
    # Raw SQL: this runs for every query, and the ORM would cost more than the read.
    with connection.cursor() as cursor:
        cursor.execute("SELECT filename, count, model FROM search_vector_index WHERE id = 1")
        return cursor.fetchone()


def _mapped(path: str, model: str | None):
    """The generation at `path`, memory-mapped (once per process), or None when the file is
    not there. Once mapped, deleting the file does not matter: the mapping keeps its pages."""
    index = _cache.get(path)
    if index is not None:
        return index
    with _cache_lock:
        index = _cache.get(path)
        if index is None:
            # The table first: _cleanup deletes a generation's index file before its table,
            # so a table missing while the index opens is one that was never written.
            table = _read_categories(path)
            faiss = _faiss()
            try:
                # MMAP_IFC maps the codes and lists in place: the page cache is shared by
                # every worker, and opening takes milliseconds.
                index = faiss.read_index(path, faiss.IO_FLAG_MMAP_IFC)
            except RuntimeError:
                if os.path.exists(path):
                    raise  # there but unreadable: a real fault, for /readyz to report
                return None
            _cache.clear()  # drop the old generation's mapping
            _models.clear()
            _tables.clear()
            _cache[path] = index
            _models[id(index)] = model
            _tables[id(index)] = table
    return index


def search(vector: np.ndarray, k: int, generation: tuple | None = None) -> list[tuple[int, float]]:
    """Nearest (paper id, cosine similarity, from the codes), best first. `generation`:
    what `current()` returned, when the caller read it already (or in another thread: it
    reads the database)."""
    index, size = generation if generation is not None else current()
    if index is None:
        return []
    k = min(k, size)
    query = np.ascontiguousarray(vector, dtype=np.float32).reshape(1, -1)
    if not _is_ivf(index):
        sims, keys = index.search(query, k)
    else:
        # A deep search (a filter dropped most neighbours) needs more lists than NPROBE to
        # hold k vectors at all: probe about twice as many as k fills on average, and more
        # if the nearest lists are short.
        probes = min(index.nlist, max(NPROBE, math.ceil(2 * k * index.nlist / max(size, 1))))
        while True:
            params = _faiss().SearchParametersIVF(nprobe=probes)
            sims, keys = index.search(query, k, params=params)
            if keys[0, -1] >= 0 or probes >= index.nlist:
                break
            probes = min(index.nlist, probes * 4)
    return [(int(key), float(sim)) for key, sim in zip(keys[0], sims[0], strict=True) if key >= 0]


def _read_categories(index_path: str) -> CategoryTable | None:
    try:
        with np.load(index_path + CATEGORIES_SUFFIX) as f:
            as_of = dt.datetime.fromtimestamp(float(f["as_of"]), tz=dt.UTC)
            return CategoryTable(f["ids"], f["offsets"], f["codes"], f["terms"].tolist(), as_of)
    except FileNotFoundError:
        return None  # a generation written by an older version
    except Exception:  # a damaged table must not take search down: the database decides
        log.warning("category table of %s is unreadable; ignoring it", index_path)
        return None


def _save_categories(folder: Path, name: str) -> None:
    """Write the category table of generation `name`: every paper's categories, now."""
    from broadsheet.search.backends.embedded.lexical_index import category_terms

    as_of = timezone.now()  # before the read: a change after it is newer than the table
    ids: list[int] = []
    offsets = [0]
    codes: list[int] = []
    terms: dict[str, int] = {}
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, primary_category, categories FROM papers_paper ORDER BY id")
        for pid, primary, categories in cursor:
            for term in category_terms(primary, categories):
                codes.append(terms.setdefault(term, len(terms)))
            ids.append(pid)
            offsets.append(len(codes))
    tmp = folder / (name + CATEGORIES_SUFFIX + ".tmp")
    with open(tmp, "wb") as f:
        np.savez(
            f,
            ids=np.array(ids, dtype=np.int64),
            offsets=np.array(offsets, dtype=np.int64),
            codes=np.array(codes, dtype=np.int32),
            terms=np.array(list(terms), dtype=str),
            as_of=np.array(as_of.timestamp()),
        )
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, folder / (name + CATEGORIES_SUFFIX))


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


def _embedding_sql() -> str:
    """The stored vector as bytes: SQLite's BLOB, or pgvector's binary form (a 4-byte
    header, then big-endian float32), far cheaper to read than its text."""
    return "vector_send(embedding)" if connection.vendor == "postgresql" else "embedding"


def _decode(value) -> np.ndarray:
    if connection.vendor == "postgresql":
        return np.frombuffer(bytes(value), dtype=">f4", offset=4).astype(np.float32)
    return from_blob(value)


def _rows_to_arrays(rows) -> tuple[np.ndarray, np.ndarray]:
    ids = np.array([r[0] for r in rows], dtype=np.int64)
    return ids, np.stack([_decode(r[1]) for r in rows])


def _vectors(where: str, params: list) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(ids, vectors) of stored embeddings, in chunks, in id order."""
    last = -1
    while True:
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT paper_id, {_embedding_sql()} FROM search_document "
                f"WHERE embedded_at IS NOT NULL AND paper_id > %s{where} "
                "ORDER BY paper_id LIMIT %s",
                [last, *params, CHUNK],
            )
            rows = cursor.fetchall()
        if not rows:
            return
        last = rows[-1][0]
        yield _rows_to_arrays(rows)


def _embedded_ids() -> np.ndarray:
    with connection.cursor() as cursor:
        cursor.execute("SELECT paper_id FROM search_document WHERE embedded_at IS NOT NULL")
        return np.fromiter((r[0] for r in cursor), dtype=np.int64)


def _training_sample(ids: np.ndarray, count: int) -> np.ndarray:
    """Vectors of `count` papers drawn at random (the same ones for the same ids)."""
    chosen = np.sort(np.random.default_rng(0).choice(ids, min(count, len(ids)), replace=False))
    parts = []
    for start in range(0, len(chosen), 500):
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT paper_id, {_embedding_sql()} FROM search_document WHERE paper_id IN "
                + in_list(chosen[start : start + 500].tolist())
            )
            parts.append(_rows_to_arrays(cursor.fetchall())[1])
    return np.concatenate(parts)


def _new_index(ids: np.ndarray):
    """An empty index for these vectors: flat when few, else lists trained on a sample."""
    faiss = _faiss()
    lists = list_count(len(ids))
    if not lists:
        return faiss.index_factory(DIMENSIONS, "IDMap,Flat", faiss.METRIC_INNER_PRODUCT)
    index = faiss.index_factory(DIMENSIONS, f"IVF{lists},SQfp16", faiss.METRIC_INNER_PRODUCT)
    # Codes of the vectors themselves, not of their residuals to the list's centroid: at 1M,
    # recall@10 0.976 against 0.953, and a search does not compute a term per list.
    index.by_residual = False
    index.train(_training_sample(ids, lists * TRAIN_PER_LIST))
    return index


def _load_for_update(path: Path | None):
    """The current generation read into memory to be changed, or None when there is none
    that can be (missing, or written by an older version: a file of 8-bit codes is only
    mapped to find that out, not read whole)."""
    if path is None or path.suffix != SUFFIX or not path.exists():
        return None
    try:
        if not precise(_faiss().read_index(str(path), _faiss().IO_FLAG_MMAP_IFC)):
            return None
        return _faiss().read_index(str(path))
    except RuntimeError:
        log.warning("vector index %s is unreadable; building a new one", path)
        return None


def sync(full: bool = False) -> int:
    """Write a new generation holding every stored vector; returns its size.

    Incremental unless `full` (or there is no usable generation, or the index has outgrown
    its lists): the current file is loaded, vectors embedded since it was built are
    (re)added and vectors dropped since are removed.
    """
    from broadsheet.search.models import VectorIndexState

    with _writer_lock() as folder:
        current_state = state()
        started = timezone.now()
        wanted = _embedded_ids()
        index = None
        if not full and current_state and current_state.synced_until:
            index = _load_for_update(folder / current_state.filename)
            if index is not None and _outgrown(index, len(wanted)):
                log.info("vector index outgrew its lists; rebuilding it")
                index = None
        if index is None:
            index = _new_index(wanted)
            for ids, vectors in _vectors("", []):
                index.add_with_ids(vectors, ids)
        else:
            # A little slack for clocks of concurrent writers; re-adding is harmless.
            since = current_state.synced_until - dt.timedelta(seconds=5)
            for ids, vectors in _vectors(" AND embedded_at >= %s", [since]):
                index.remove_ids(ids)  # a re-embedded paper replaces its old vector
                index.add_with_ids(vectors, ids)
            faiss = _faiss()
            keep = faiss.IDSelectorBatch(wanted)
            index.remove_ids(faiss.IDSelectorNot(keep))  # papers deleted or not embedded
        name = _save(index, folder, started)
        if node_state.node_local():
            _record_on_node(name, index.ntotal, started)
        else:
            with transaction.atomic():
                VectorIndexState.objects.update_or_create(
                    id=1,
                    defaults={
                        "filename": name,
                        "count": index.ntotal,
                        "synced_until": started,
                        "model": served_model() or "",
                    },
                )
        _cleanup(folder, keep={name, current_state.filename if current_state else ""})
        log.info("vector index %s: %d vectors", name, index.ntotal)
        return index.ntotal


def _save(index, folder: Path, started: dt.datetime, previous: str | None = None) -> str:
    """Write `index` as a new generation file, and its category table; returns its name.
    With `previous` (a follower's small update), that generation's table is carried over
    while it is younger than TABLE_REFRESH: reading every paper's categories would cost
    more than the update, and search leaves papers changed since a table to the database."""
    name = f"vectors-{started:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}{SUFFIX}"
    tmp = folder / (name + ".tmp")
    _faiss().write_index(index, str(tmp))
    with open(tmp, "rb") as f:
        os.fsync(f.fileno())  # on disk before the state names it
    os.replace(tmp, folder / name)
    table = _read_categories(str(folder / previous)) if previous else None
    if table is not None and timezone.now() - table.as_of < TABLE_REFRESH:
        shutil.copyfile(
            folder / (previous + CATEGORIES_SUFFIX), folder / (name + CATEGORIES_SUFFIX)
        )
    else:
        _save_categories(folder, name)
    return name


def _record_on_node(name: str, count: int, started: dt.datetime) -> None:
    vectors = {
        "filename": name,
        "count": count,
        "synced_until": started.isoformat(),
        "model": served_model() or "",
    }
    node_state.update(vectors=vectors)


def apply(paper_ids: Sequence[int]) -> int | None:
    """Bring these papers' entries in this node's vector index up to date with their stored
    vectors (added, replaced or removed) as a new generation; returns the index's size, or
    None when nothing changed. (The node's follower, postgresql/follower.py, calls this for
    each batch of changed papers; an index that is missing, of another kind or outgrown is
    rebuilt whole.)"""
    with _writer_lock() as folder:
        current_state = state()
        index = _load_for_update(folder / current_state.filename) if current_state else None
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM search_document WHERE embedded_at IS NOT NULL")
            total = cursor.fetchone()[0]
        if index is not None and not _outgrown(index, total):
            started = timezone.now()
            ids = sorted({int(i) for i in paper_ids})
            with connection.cursor() as cursor:
                cursor.execute(
                    f"SELECT paper_id, {_embedding_sql()} FROM search_document "
                    f"WHERE embedded_at IS NOT NULL AND paper_id IN {in_list(ids)}"
                )
                rows = cursor.fetchall()
            removed = index.remove_ids(np.array(ids, dtype=np.int64))
            if not rows and not removed:
                return None
            if rows:
                changed, vectors = _rows_to_arrays(rows)
                index.add_with_ids(vectors, changed)
            name = _save(index, folder, started, previous=current_state.filename)
            _record_on_node(name, index.ntotal, started)
            _cleanup(folder, keep={name, current_state.filename})
            return index.ntotal
    return sync(full=True)


def _cleanup(folder: Path, keep: set[str]) -> None:
    """Delete generations replaced more than KEEP_OLD_SECONDS ago, but never those in `keep`
    (the current one and the one before it), and files of older versions (.usearch) or of
    killed writers (.tmp) older than that.

    Why that is safe: a worker that has mapped a generation keeps its pages when the file is
    deleted (Linux unlinks, the mapping stays). What must not happen is a worker reading a
    generation's name and finding the file gone before it opens it: the name stops being
    current when the next generation is written, so a generation is deleted only
    KEEP_OLD_SECONDS after that one's file, and a worker that loses even that race reads the
    name again (_latest)."""
    cutoff = time.time() - KEEP_OLD_SECONDS
    indexes = sorted((path.stat().st_mtime, path) for path in folder.glob(f"vectors-*{SUFFIX}"))
    # When each generation stopped being the newest: when the next one was written.
    replaced = {
        path.name: indexes[i + 1][0] if i + 1 < len(indexes) else time.time()
        for i, (_, path) in enumerate(indexes)
    }
    for _, path in indexes:
        if path.name not in keep and replaced[path.name] < cutoff:
            path.unlink(missing_ok=True)  # the index file first (see _mapped), then its table
            Path(str(path) + CATEGORIES_SUFFIX).unlink(missing_ok=True)
    for path in folder.glob("vectors-*"):
        generation = path.name.removesuffix(CATEGORIES_SUFFIX)
        if generation in replaced or generation in keep:
            continue  # a generation's own files (done above)
        try:
            if path.stat().st_mtime < cutoff:
                path.unlink(missing_ok=True)
        except FileNotFoundError:
            pass
