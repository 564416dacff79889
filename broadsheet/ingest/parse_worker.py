"""The second process of a large JSONL import (`jsonl.read_jsonl_file`): lines in, validated
records out. Nothing from Django is imported at module level: the process loads this module
before Django is set up (`start` does that)."""

from __future__ import annotations


def start() -> None:
    import gc
    import threading

    import django

    django.setup()
    # Only short-lived, acyclic records and lines pass through here: the cycle collector
    # would walk them for nothing (see upsert._no_cyclic_gc).
    gc.disable()
    # An import killed with SIGKILL cannot stop its pool: leave when the parent is gone
    # instead of waiting for work forever.
    threading.Thread(target=_exit_with_parent, name="parent-watch", daemon=True).start()


def _exit_with_parent() -> None:
    import multiprocessing
    import multiprocessing.connection
    import os

    parent = multiprocessing.parent_process()
    if parent is not None:
        multiprocessing.connection.wait([parent.sentinel])
        os._exit(1)


def parse_chunk(lines: list[bytes], name: str, first: int) -> list:
    """Lines to validated PaperRecords, or Rejected with the reason upsert would give."""
    from broadsheet.ingest.jsonl import read_jsonl
    from broadsheet.ingest.records import PaperRecord, Rejected, validate

    out: list = []
    for item in read_jsonl(lines, name, first):
        if isinstance(item, PaperRecord):
            try:
                validate(item)
            except Rejected as e:
                item = Rejected(f"{item.describe()}: {e}")
        out.append(item)
    return out
