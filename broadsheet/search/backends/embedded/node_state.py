"""Where the embedded engine keeps its indexes and which generation of each is current.

On SQLite the indexes are folders beside the database file and the current generations are
rows in the database (LexicalIndexState, VectorIndexState): one machine, one database.
On PostgreSQL (BROADSHEET_SEARCH_ENGINE=embedded) every web node keeps its own indexes in
its data directory, so their state is per node too: a small JSON file there, written only by
the node's follower (postgresql/follower.py) and read by its web workers:

    {"lexical": folder name, "vectors": {"filename", "count", "model", "synced_until"},
     "watermark": the change-log position every change before which is indexed,
     "vector_pending": papers whose vectors changed below the watermark, not yet applied,
     "node": this node's name in search_node}

The file is replaced whole (write, fsync, rename), so a reader sees one version or the next
and a follower killed mid-write leaves the previous one.
"""

from __future__ import annotations

import fcntl
import json
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

from django.conf import settings
from django.db import connection

STATE_FILE = "state.json"

# A node folder other than the one the settings give (two nodes driven in one process).
_override: ContextVar[Path | None] = ContextVar("search_node_dir", default=None)
_lock = threading.Lock()
_cache: dict[str, tuple[tuple, dict]] = {}  # path -> (file stamp, contents)


def node_local() -> bool:
    """Are the index states kept per node (PostgreSQL) rather than in the database?"""
    return connection.vendor == "postgresql"


def node_dir() -> Path:
    """This node's search folder: in its data directory, named after the database (so a
    test database and the real one never share indexes)."""
    override = _override.get()
    if override is not None:
        return override
    return Path(settings.DATA_DIR) / f"search-{connection.settings_dict['NAME']}"


@contextmanager
def node(path: Path) -> Iterator[None]:
    """Inside this block (in this thread), the node's folder is `path`."""
    token = _override.set(Path(path))
    try:
        yield
    finally:
        _override.reset(token)


def _stamp(path: Path) -> tuple:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return ()
    return (st.st_mtime_ns, st.st_size, st.st_ino)


def read() -> dict:
    """The node's state ({} when none was written yet); read again only when the file
    changed (one stat per call)."""
    path = node_dir() / STATE_FILE
    stamp = _stamp(path)
    cached = _cache.get(str(path))
    if cached is not None and cached[0] == stamp:
        return cached[1]
    try:
        state = json.loads(path.read_text()) if stamp else {}
    except (OSError, ValueError):
        state = {}  # replaced between the stat and the read: the next call reads it
        stamp = ()
    with _lock:
        _cache[str(path)] = (stamp, state)
    return state


def update(**changes) -> dict:
    """Set these keys of the state (None removes one); returns the new state."""
    folder = node_dir()
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".state.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            path = folder / STATE_FILE
            try:
                state = json.loads(path.read_text())
            except (OSError, ValueError):
                state = {}
            before = dict(state)
            for key, value in changes.items():
                if value is None:
                    state.pop(key, None)
                else:
                    state[key] = value
            if state == before:
                return state  # unchanged: readers keep what they cached
            tmp = folder / (STATE_FILE + ".tmp")
            with open(tmp, "w") as f:
                json.dump(state, f)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return state
