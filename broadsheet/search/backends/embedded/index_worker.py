"""The process that writes the embedded engine's lexical index during a long import
(lexical_pipeline.py). Nothing from Django is imported at module level: the process loads this
module before Django is set up (`start` does that, pointed at the importer's database)."""

from __future__ import annotations

# The indexing process runs at a lower priority than the importer and its parser: on two
# cores the three compete, and the importer (which the other two wait on) and the parser
# (which the importer waits on) should get the CPU first. The indexer has a deep queue
# (lexical_pipeline.QUEUE_DEPTH) and catches up whenever they wait. Importing 300k records
# as bench/ingest.py does, alternating runs: 88.2 / 87.6 s against 93.7 / 101.6 s at the
# same priority, 90.8 / 90.4 s at niceness 19; the indexing left after the last batch stayed
# ~3 s. Web servers on the same machine keep their priority over it too.
NICENESS = 10


def start(database: str) -> None:
    import os

    import django

    from broadsheet.lib.children import watch_parent

    django.setup()
    from django.db import connection

    # The importer's database file (a test's database is not the settings' one); set before
    # this process first connects. The lexical folder is found beside it.
    connection.settings_dict["NAME"] = database
    os.nice(NICENESS)
    watch_parent()


def write(paper_ids: list[int]) -> int:
    from broadsheet.search.backends.embedded import lexical_index

    lexical_index.write(paper_ids)
    return len(paper_ids)
