"""A column for 384-d float vectors: pgvector's `vector(384)` on PostgreSQL, a BLOB of
little-endian float32 on SQLite. Python sees numpy arrays (or None)."""

from __future__ import annotations

import numpy as np
from django.db import models


def to_pg_text(vector) -> str:
    """pgvector's text form, '[0.1,0.2,...]'."""
    return "[" + ",".join(f"{x:.7g}" for x in np.asarray(vector, dtype=np.float32)) + "]"


def from_pg_text(text: str) -> np.ndarray:
    return np.array(text.strip("[]").split(","), dtype=np.float32)


def from_pg_binary(data: bytes) -> np.ndarray:
    """pgvector's binary form (`vector_send(v)`): two int16 (dimensions, unused), then the
    big-endian float4s. Parsing the text form costs about 0.4 ms a vector."""
    return np.frombuffer(bytes(data), dtype=">f4", offset=4).astype(np.float32)


def to_blob(vector) -> bytes:
    return np.asarray(vector, dtype="<f4").tobytes()


def from_blob(blob: bytes) -> np.ndarray:
    return np.frombuffer(blob, dtype="<f4").copy()


class VectorField(models.Field):
    description = "A fixed-length float vector"

    def __init__(self, *args, dimensions: int = 384, **kwargs):
        self.dimensions = dimensions
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        kwargs["dimensions"] = self.dimensions
        return name, path, args, kwargs

    def db_type(self, connection) -> str:
        if connection.vendor == "postgresql":
            return f"vector({self.dimensions})"
        return "blob"

    def from_db_value(self, value, expression, connection):
        if value is None:
            return None
        if isinstance(value, str):
            return from_pg_text(value)
        return from_blob(bytes(value))

    def to_python(self, value):
        if value is None or isinstance(value, np.ndarray):
            return value
        return np.asarray(value, dtype=np.float32)

    def get_db_prep_value(self, value, connection, prepared=False):
        if value is None:
            return None
        if connection.vendor == "postgresql":
            return to_pg_text(value)
        return to_blob(value)
