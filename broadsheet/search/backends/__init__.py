"""The search backends, one per engine, behind one interface (protocol.SearchBackend).

`get_backend()` picks one by the connection's vendor (and on PostgreSQL by
BROADSHEET_SEARCH_ENGINE: the database's own indexes, or the embedded engine on each node):
this is the one place outside the migrations that decides by database which search runs.
Nothing is imported at package import, so the indexing process (embedded/index_worker.py)
can load it before Django."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from broadsheet.search.backends.protocol import SearchBackend

_backends: dict[str, SearchBackend] = {}


def get_backend() -> SearchBackend:
    from django.conf import settings
    from django.db import connection

    vendor = connection.vendor
    key = vendor
    if vendor == "postgresql" and settings.SEARCH_ENGINE == "embedded":
        key = "postgresql-embedded"
    backend = _backends.get(key)
    if backend is None:
        if key == "postgresql-embedded":
            from broadsheet.search.backends.postgresql.embedded import PostgresEmbeddedBackend

            backend = PostgresEmbeddedBackend()
        elif vendor == "postgresql":
            from broadsheet.search.backends.postgresql.backend import PostgresBackend

            backend = PostgresBackend()
        elif vendor == "sqlite":
            from broadsheet.search.backends.embedded.backend import EmbeddedBackend

            backend = EmbeddedBackend()
        else:  # pragma: no cover - settings only ever configure these two
            raise RuntimeError(f"search has no backend for {vendor}")
        _backends[key] = backend
    return backend


def follows_changes() -> bool:
    """Whether this node's search indexes follow the database's change log (PostgreSQL with
    BROADSHEET_SEARCH_ENGINE=embedded), so `broadsheet search-follow` runs beside the server."""
    from django.conf import settings
    from django.db import connection

    return connection.vendor == "postgresql" and settings.SEARCH_ENGINE == "embedded"


def change_follower():
    """The module that builds this node's indexes and follows the change log
    (postgresql/follower.py); only where follows_changes()."""
    from broadsheet.search.backends.postgresql import follower

    return follower
