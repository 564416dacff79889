"""The asks for renderings between the web workers and the page renderer (page_renderer.py).

A web worker that finds a cached page changed asks for it by a file in the queue directory
(BROADSHEET_DATA_DIR/cache/page-renders), one per page, so asking twice is asking once; the
renderer says it is alive by touching a heartbeat file there. A directory, not the database:
asks are per node, like the page cache's files, and cost no query.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path

from django.conf import settings
from django.http import HttpRequest

# What an ask holds: enough to make the anonymous request again.
ASK_KEYS = frozenset({"scheme", "host", "script_name", "path_info", "query"})
HEARTBEAT = ".renderer"
ALIVE_SECONDS = 5.0


def queue_dir() -> Path:
    return settings.DATA_DIR / "cache" / "page-renders"


def running() -> bool:
    """A renderer has said it is alive within ALIVE_SECONDS."""
    try:
        return time.time() - (queue_dir() / HEARTBEAT).stat().st_mtime < ALIVE_SECONDS
    except OSError:
        return False


def beat() -> None:
    queue_dir().mkdir(parents=True, exist_ok=True)
    (queue_dir() / HEARTBEAT).touch()


def stop_beating() -> None:
    (queue_dir() / HEARTBEAT).unlink(missing_ok=True)


def ask(request: HttpRequest, key: str) -> None:
    """Ask for this anonymous request's page (`key`: its cache key) to be rendered."""
    wanted = {
        "scheme": request.scheme,
        "host": request.get_host(),
        "script_name": request.META.get("SCRIPT_NAME", ""),
        "path_info": request.path_info,
        "query": request.META.get("QUERY_STRING", ""),
    }
    directory = queue_dir()
    directory.mkdir(parents=True, exist_ok=True)
    # Written aside and renamed: the renderer never reads half a file.
    fd, temporary = tempfile.mkstemp(dir=directory, prefix=".ask-")
    with os.fdopen(fd, "w") as f:
        json.dump(wanted, f)
    os.replace(temporary, directory / f"{key.replace(':', '-')}.json")


def pending() -> list[Path]:
    """The asks waiting, oldest first."""
    entries = []
    with os.scandir(queue_dir()) as it:
        for entry in it:
            if entry.name.endswith(".json") and entry.is_file(follow_symlinks=False):
                try:
                    entries.append((entry.stat().st_mtime_ns, Path(entry.path)))
                except FileNotFoundError:
                    continue
    return [path for _, path in sorted(entries)]
