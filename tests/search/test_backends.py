"""The search backends behind one protocol: both offer all of it, and what the rest of the
site asks of the running one (status, health, the vocabulary's upsert) works on its engine."""

from __future__ import annotations

import functools
import inspect

import pytest

from broadsheet.search.backends import base, get_backend
from broadsheet.search.backends.embedded.backend import EmbeddedBackend
from broadsheet.search.backends.postgresql.backend import PostgresBackend
from broadsheet.search.backends.postgresql.embedded import PostgresEmbeddedBackend
from broadsheet.search.backends.protocol import IndexStatus, SearchBackend
from broadsheet.search.indexing import index_papers
from broadsheet.search.models import SearchWord
from tests.factories import make_paper

PROTOCOL_METHODS = {
    name
    for name, member in vars(SearchBackend).items()
    if inspect.isfunction(member) and not name.startswith("_")
}


@pytest.mark.parametrize("cls", [EmbeddedBackend, PostgresBackend, PostgresEmbeddedBackend])
def test_each_backend_implements_every_method_of_the_protocol(cls):
    assert {"lexical", "semantic", "sync_vectors", "bulk_import", "status"} <= PROTOCOL_METHODS
    for name in PROTOCOL_METHODS:
        method = getattr(cls, name)
        assert callable(method), name
        # Nothing is left to the base class's NotImplementedError.
        assert "NotImplementedError" not in inspect.getsource(method), (cls.__name__, name)
        declared = inspect.signature(getattr(SearchBackend, name)).parameters
        assert list(inspect.signature(method).parameters) == list(declared), (cls, name)


def test_the_running_backend_reports_its_status_and_health(db):
    backend = get_backend()
    assert isinstance(backend, SearchBackend)
    index_papers([make_paper("Wavelet scattering").pk])
    status = backend.status()
    assert isinstance(status, IndexStatus) and status.sizes
    assert any(size > 0 for size in status.sizes.values())  # the papers' words take room
    assert backend.health()
    with backend.bulk_import():
        pass
    assert backend.catch_up() == 0


@pytest.mark.parametrize("upsert", ["shared", "own"])
def test_the_vocabulary_upsert_adds_to_the_counts(db, monkeypatch, upsert):
    """The shared multi-row upsert (chunked) and the running backend's own, on its engine."""
    monkeypatch.setattr(base, "WORD_ROWS", 3)  # 7 words: chunks of 3, 3 and 1
    backend = get_backend()
    shared = functools.partial(base.Backend.add_word_counts, backend)
    add = backend.add_word_counts if upsert == "own" else shared
    add(["alpha", "beta", "delta", "epsilon", "gamma", "theta", "zeta"], [1] * 7)
    add(["again", "alpha", "beta"], [1, 1, 2])
    docs = dict(SearchWord.objects.values_list("word", "docs"))
    assert docs == {"again": 1, "alpha": 2, "beta": 3} | dict.fromkeys(
        ["delta", "epsilon", "gamma", "theta", "zeta"], 1
    )


def test_indexed_papers_have_their_words_counted(db):
    index_papers([make_paper("Alpha beta gamma", abstract="delta").pk])
    index_papers([make_paper("Alpha beta", abstract="again").pk])
    docs = dict(SearchWord.objects.values_list("word", "docs"))
    assert docs["alpha"] == docs["beta"] == 2 and docs["gamma"] == docs["again"] == 1


@pytest.mark.django_db(transaction=True)
def test_the_database_engines_indexes_are_kept_only_where_that_engine_runs(settings):
    """Migration search 0009 drops the GIN, HNSW and NULL-tsvector indexes on a site of the
    embedded engine, the default; on the database engine, /readyz names them and `reindex`
    makes them again."""
    from importlib import import_module

    from django.core.management import call_command
    from django.db import connection

    from broadsheet.search.backends.postgresql.backend import INDEXES, missing_indexes
    from broadsheet.search.backends.protocol import IndexProblem
    from broadsheet.search.query import parse
    from broadsheet.search.results import Filters

    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's database engine")
    migration = import_module("broadsheet.search.migrations.0009_database_engine_indexes")
    settings.SEARCH_ENGINE = "embedded"
    with connection.schema_editor() as editor:
        migration.drop_unread(None, editor)
    assert missing_indexes() == list(INDEXES)

    settings.SEARCH_ENGINE = "database"
    paper = make_paper("Wavelet scattering")
    index_papers([paper.pk])
    with pytest.raises(IndexProblem, match="run `broadsheet reindex`"):
        get_backend().health()
    call_command("reindex", verbosity=0)
    assert missing_indexes() == []
    assert get_backend().health().startswith("in the database")
    assert [pid for pid, _ in get_backend().lexical(parse("wavelet"), Filters(), 10)] == [paper.pk]
