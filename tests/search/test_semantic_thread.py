"""SQLite mode checks semantic hits against the database in the embedding thread, on that
thread's own connection, when the caller is not inside a transaction."""

from __future__ import annotations

import threading

import pytest
from django.core.management import call_command
from django.db import connection, transaction

from broadsheet.papers.models import Paper
from broadsheet.search import search
from broadsheet.search.backends.sqlite import SQLiteBackend
from broadsheet.search.indexing import embed_missing

QUERY = "interpreting what attention heads and sparse features learn"


@pytest.fixture
def committed_sample(transactional_db, cached_embed):
    if connection.vendor != "sqlite":
        pytest.skip("PostgreSQL mode checks vectors in the database query itself")
    call_command("load-sample", verbosity=0)
    embed_missing(embed=cached_embed)


@pytest.fixture
def checked_in(monkeypatch) -> list[str]:
    """Names of the threads that checked semantic hits."""
    threads: list[str] = []
    real = SQLiteBackend._checked_vectors

    def spy(self, ids, filters):
        threads.append(threading.current_thread().name)
        return real(self, ids, filters)

    monkeypatch.setattr(SQLiteBackend, "_checked_vectors", spy)
    return threads


def ids(result) -> list[int]:
    return [hit.paper.pk for hit in result.hits]


def test_the_embedding_thread_checks_hits_as_the_request_would(committed_sample, checked_in):
    outside = search(QUERY, mode="semantic")
    assert checked_in and checked_in[-1].startswith("embed")
    with transaction.atomic():
        inside = search(QUERY, mode="semantic")
    assert checked_in[-1] == threading.current_thread().name  # its writes: its connection
    assert ids(outside) and ids(outside) == ids(inside)
    assert [h.score for h in outside.hits] == [h.score for h in inside.hits]


def test_a_paper_hidden_since_indexing_is_dropped_by_the_embedding_thread(
    committed_sample, checked_in
):
    top = ids(search(QUERY, mode="semantic"))[0]
    Paper.objects.filter(pk=top).update(hidden=True)
    assert top not in ids(search(QUERY, mode="semantic"))
    assert checked_in[-1].startswith("embed")
