"""Settings helpers: every setting comes from a BROADSHEET_* environment variable.

They fail loudly on values they cannot parse, so a typo in a deployment is an error at
start-up rather than a silently different site.
"""

from __future__ import annotations

import os
from pathlib import Path


class SettingError(ValueError):
    pass


def env(name: str, default: str = "") -> str:
    """A string setting. `NAME_FILE` (a path) wins over `NAME`, for secrets kept in files."""
    file_path = os.environ.get(f"{name}_FILE")
    if file_path:
        try:
            return Path(file_path).read_text().strip()
        except OSError as e:
            raise SettingError(f"{name}_FILE={file_path}: cannot read ({e.strerror})") from e
    return os.environ.get(name, default)


def envbool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise SettingError(f"{name}={raw!r}: expected true or false")


def envint(name: str, default: int, minimum: int | None = None) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingError(f"{name}={raw!r}: expected an integer") from None
    if minimum is not None and value < minimum:
        raise SettingError(f"{name}={raw!r}: must be at least {minimum}")
    return value


def envfloat(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return float(raw)
    except ValueError:
        raise SettingError(f"{name}={raw!r}: expected a number") from None


def envlist(name: str, default: str) -> list[str]:
    return [item.strip() for item in env(name, default).split(",") if item.strip()]
