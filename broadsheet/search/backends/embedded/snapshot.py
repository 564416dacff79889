"""One search sees one state of the indexes, read once.

Which lexical folder and which vector file are current is recorded in the database; each index
call used to read it (a lexical search, its count, the category share, the vector search: four
to five reads a query, each a round trip that also gives up the GIL to the embedding thread).
Inside `pinned()` the first read is kept for the rest of the block and dropped at its end, so
a search still sees every commit made before it started, and nothing outlives the search.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TypeVar

T = TypeVar("T")

_pinned: ContextVar[dict[str, object] | None] = ContextVar("search_snapshot", default=None)


@contextmanager
def pinned() -> Iterator[None]:
    token = _pinned.set({})
    try:
        yield
    finally:
        _pinned.reset(token)


def once(name: str, read: Callable[[], T]) -> T:
    """`read()`, or what it returned the first time inside the current `pinned()` block."""
    values = _pinned.get()
    if values is None:
        return read()
    if name not in values:
        values[name] = read()
    return values[name]  # type: ignore[return-value]
