"""An import writes the SQLite-mode lexical index in a second process (lexical_pipeline.py): when it
returns, every paper it stored is found by words, nothing is left pending, and papers a
killed import left pending are indexed by the next import or `broadsheet embed`."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.db import connection

from broadsheet.ingest.records import PaperRecord
from broadsheet.ingest.upsert import upsert
from broadsheet.papers.models import Paper
from broadsheet.search.backends import get_backend
from broadsheet.search.backends.embedded import lexical_index, lexical_pipeline
from broadsheet.search.models import LexicalIndexState, LexicalPending
from broadsheet.search.query import parse
from broadsheet.search.results import Filters

# Transactions that really commit: the thread reads what the import's batches committed.
pytestmark = pytest.mark.django_db(transaction=True)

WORDS = "quasar lattice meridian tundra obsidian falcon cobalt harbor saffron glacier".split()


def records(n: int, version: int = 1) -> list[PaperRecord]:
    return [
        PaperRecord(
            arxiv_id=f"2402.{i:05d}", arxiv_version=version,
            title=f"{WORDS[i % 10].title()} {WORDS[(i // 10) % 10]} number{i} v{version}",
            abstract=f"An abstract about {WORDS[(i + 3) % 10]}.", authors=[f"Author {i % 7}"],
        )
        for i in range(n)
    ]  # fmt: skip


@pytest.fixture
def sqlite_only():
    if connection.vendor != "sqlite":
        pytest.skip("the lexical index is a column written in the transaction on PostgreSQL")


def found(word: str) -> set[int]:
    return {pid for pid, _ in get_backend().lexical(parse(word), Filters(), 1000)}


def pending() -> int:
    return LexicalPending.objects.count()


def test_every_paper_of_a_many_batch_import_is_found_and_nothing_stays_pending():
    counts = upsert(records(95), batch_size=10)
    assert counts.new == 95
    ids = dict(Paper.objects.values_list("arxiv_id", "id"))
    for i in (0, 9, 10, 47, 94):  # first, batch edges, middle, last
        assert found(f"number{i}") == {ids[f"2402.{i:05d}"]}
    assert pending() == 0


def test_a_paper_revised_in_a_later_batch_is_found_by_its_new_words_only():
    upsert(records(30) + records(30, version=2), batch_size=7)
    ids = dict(Paper.objects.values_list("arxiv_id", "id"))
    assert found("v2") == set(ids.values())
    assert found("v1") == set()
    assert pending() == 0


def test_papers_left_pending_are_indexed_again_by_the_next_import(sqlite_only):
    upsert(records(20), batch_size=5)
    ids = list(Paper.objects.values_list("id", flat=True))
    # What a kill between a batch's commit and its index commit leaves behind.
    lexical_index.remove(ids[:8])
    LexicalPending.objects.bulk_create(LexicalPending(paper_id=i) for i in ids[:8])
    assert not found("number3")

    counts = upsert(records(0) + [records(25)[-1]], batch_size=5)

    assert counts.new == 1
    assert found("number3") == {Paper.objects.get(arxiv_id="2402.00003").id}
    assert pending() == 0


def test_broadsheet_embed_indexes_papers_left_pending(sqlite_only):
    upsert(records(12), batch_size=5)
    ids = list(Paper.objects.order_by("id").values_list("id", flat=True))
    lexical_index.remove(ids[:3])
    LexicalPending.objects.bulk_create(LexicalPending(paper_id=i) for i in ids[:3])
    assert found("number1") == set()

    call_command("embed", "--limit", "0", stdout=io.StringIO())

    assert found("number1") == {Paper.objects.get(arxiv_id="2402.00001").id}
    assert pending() == 0


def test_a_failing_index_writer_fails_the_import_and_leaves_its_papers_pending(sqlite_only):
    saved = None

    def records_then_break_the_index():
        nonlocal saved
        for i, rec in enumerate(records(30)):
            if i == 10:  # the first batch is stored (and indexed inline): break the folder
                folder = lexical_index.base_dir() / LexicalIndexState.objects.get().dirname
                saved = folder.rename(folder.with_name(folder.name + ".saved"))
                folder.write_text("not a folder")
            yield rec

    with pytest.raises(RuntimeError, match="writing the lexical index failed"):
        upsert(records_then_break_the_index(), batch_size=10)
    folder = saved.with_name(saved.name.removesuffix(".saved"))
    folder.unlink()
    saved.rename(folder)

    # Every batch committed; the ones the indexing process failed on are pending, and the
    # next run indexes them.
    assert Paper.objects.count() == 30
    assert pending() == 20
    assert lexical_pipeline.index_pending() == 20
    assert found("number25") == {Paper.objects.get(arxiv_id="2402.00025").id}
    assert pending() == 0


def test_the_indexing_process_runs_at_a_lower_priority_than_the_import(sqlite_only):
    import os

    from broadsheet.search.backends.embedded import index_worker

    writer = lexical_pipeline._Writer()
    try:
        ours = os.getpriority(os.PRIO_PROCESS, 0)
        theirs = writer.pool.submit(os.getpriority, os.PRIO_PROCESS, 0).result(timeout=60)
    finally:
        writer.finish()
    assert theirs == min(ours + index_worker.NICENESS, 19)
