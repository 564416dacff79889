"""One search backend per database engine, chosen by the connection's vendor."""

from __future__ import annotations

from django.db import connection

from broadsheet.search.backends.base import Backend

_backends: dict[str, Backend] = {}


def get_backend() -> Backend:
    vendor = connection.vendor
    backend = _backends.get(vendor)
    if backend is None:
        if vendor == "postgresql":
            from broadsheet.search.backends.postgresql import PostgresBackend as cls
        elif vendor == "sqlite":
            from broadsheet.search.backends.sqlite import SQLiteBackend as cls
        else:  # pragma: no cover - settings only ever configure these two
            raise RuntimeError(f"search has no backend for {vendor}")
        backend = _backends[vendor] = cls()
    return backend
