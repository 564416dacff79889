"""The process that writes SQLite mode's lexical index during a long import
(lexical_pipeline.py). Nothing from Django is imported at module level: the process loads this
module before Django is set up (`start` does that, pointed at the importer's database)."""

from __future__ import annotations


def start(database: str) -> None:
    import django

    from broadsheet.lib.children import watch_parent

    django.setup()
    from django.db import connection

    # The importer's database file (a test's database is not the settings' one); set before
    # this process first connects. The lexical folder is found beside it.
    connection.settings_dict["NAME"] = database
    watch_parent()


def write(paper_ids: list[int]) -> int:
    from broadsheet.search import lexical_index

    lexical_index.write(paper_ids)
    return len(paper_ids)
