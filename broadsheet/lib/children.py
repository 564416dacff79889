"""Helper processes (the JSONL parser and the lexical indexer of a long import) ending with
the process that started them. Nothing from Django at module level: loaded before setup."""

from __future__ import annotations

import multiprocessing
import multiprocessing.connection
import os
import threading


def watch_parent() -> None:
    """End this process when its parent ends. A pool's workers otherwise wait for work
    forever after their parent is killed with SIGKILL, which cannot stop them."""
    parent = multiprocessing.parent_process()
    if parent is not None:
        threading.Thread(
            target=_exit_after, args=(parent,), name="parent-watch", daemon=True
        ).start()


def _exit_after(parent) -> None:
    multiprocessing.connection.wait([parent.sentinel])
    os._exit(1)
