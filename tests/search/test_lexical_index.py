"""SQLite mode's tantivy index: kept in step, rebuilt when lost, safe with several writers."""

from __future__ import annotations

import fcntl
import threading
import time

import pytest
from django.db import connection

from broadsheet.search import Filters, search
from broadsheet.search.indexing import embed_missing, reindex
from broadsheet.search.query import parse
from tests.factories import make_paper


@pytest.fixture(autouse=True)
def sqlite_only(db):
    if connection.vendor != "sqlite":
        pytest.skip("the tantivy index is SQLite mode's")


def titles(result) -> list[str]:
    return [h.paper.title for h in result.hits]


def test_a_lost_index_is_rebuilt_by_embed(index, cached_embed):
    from broadsheet.search.models import LexicalIndexState

    paper = make_paper("Wavelet scattering for audio", abstract="Scattering transforms.")
    index(paper, embed=False)
    assert titles(search("wavelet", mode="lexical")) == [paper.title]
    LexicalIndexState.objects.all().delete()  # as after upgrading from FTS5
    assert search("wavelet", mode="lexical").hits == []
    embed_missing(embed=cached_embed)
    assert titles(search("wavelet", mode="lexical")) == [paper.title]


def test_a_writer_waits_for_another_instead_of_failing(index):
    from broadsheet.search import lexical_index

    first = make_paper("Kernel methods on manifolds")
    index(first, embed=False)
    held = threading.Event()

    def other_writer():
        with open(lexical_index.base_dir() / ".lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            held.set()
            time.sleep(0.5)
            fcntl.flock(lock, fcntl.LOCK_UN)

    thread = threading.Thread(target=other_writer)
    thread.start()
    held.wait()
    started = time.monotonic()
    second = make_paper("Kernel two-sample tests")
    index(second, embed=False)
    thread.join()
    assert time.monotonic() - started >= 0.4
    assert set(titles(search("kernel", mode="lexical"))) == {first.title, second.title}


def test_reindex_drops_documents_of_deleted_papers(index):
    keep = make_paper("Optimal transport barycenters")
    gone = make_paper("Optimal transport on graphs")
    index(keep, gone, embed=False)
    gone_id = gone.pk
    gone.delete()  # without a signal: the index still holds it until a rebuild
    from broadsheet.search import lexical_index

    query = lexical_index.build(parse("transport"), Filters())
    assert gone_id in {pid for pid, _ in lexical_index.search(query, 10)}
    reindex()
    assert {pid for pid, _ in lexical_index.search(query, 10)} == {keep.pk}
    assert titles(search("transport", mode="lexical")) == [keep.title]
