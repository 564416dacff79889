"""The second process of a large JSONL import (`jsonl.read_jsonl_file`): lines in, validated
records out. Nothing from Django is imported at module level: the process loads this module
before Django is set up (`start` does that)."""

from __future__ import annotations


def start() -> None:
    import gc

    import django

    from broadsheet.lib.children import watch_parent

    django.setup()
    # Only short-lived, acyclic records and lines pass through here: the cycle collector
    # would walk them for nothing (see upsert._no_cyclic_gc).
    gc.disable()
    watch_parent()


def parse_chunk(lines: list[bytes], name: str, first: int) -> list:
    """Lines to validated PaperRecords, or Rejected with the reason upsert would give."""
    from broadsheet.ingest.jsonl_lines import read_jsonl
    from broadsheet.ingest.records import checked

    return [checked(item) for item in read_jsonl(lines, name, first)]
