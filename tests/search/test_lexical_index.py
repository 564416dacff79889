"""The embedded engine's tantivy index: kept in step, rebuilt when lost, safe with several
writers."""

from __future__ import annotations

import fcntl
import threading
import time

import pytest
from django.db import connection

from broadsheet.papers.models import Paper
from broadsheet.search import Filters
from broadsheet.search.backends import get_backend
from broadsheet.search.indexing import embed_missing, reindex
from broadsheet.search.query import parse
from tests.factories import make_paper


@pytest.fixture(autouse=True)
def sqlite_only(db):
    if connection.vendor != "sqlite":
        pytest.skip("the tantivy index is SQLite mode's")


def found(words: str) -> list[str]:
    """Titles of the papers the lexical index finds for these words, best first."""
    backend = get_backend()
    with backend.pinned():
        ids = [pid for pid, _ in backend.lexical(parse(words), Filters(), 10)]
    return [Paper.objects.get(pk=pid).title for pid in ids]


def test_a_lost_index_is_rebuilt_by_embed(index, cached_embed):
    from broadsheet.search.models import LexicalIndexState

    paper = make_paper("Wavelet scattering for audio", abstract="Scattering transforms.")
    index(paper, embed=False)
    assert found("wavelet") == [paper.title]
    LexicalIndexState.objects.all().delete()  # as after upgrading from FTS5
    assert found("wavelet") == []
    embed_missing(embed=cached_embed)
    assert found("wavelet") == [paper.title]


def _index_of_an_older_version() -> None:
    """Make the current index folder look as written by the previous schema version."""
    from broadsheet.search.backends.embedded import lexical_index
    from broadsheet.search.models import LexicalIndexState

    state = LexicalIndexState.objects.get(id=1)
    old = state.dirname.replace(f"v{lexical_index.SCHEMA_VERSION}-", "v1-", 1)
    (lexical_index.base_dir() / state.dirname).rename(lexical_index.base_dir() / old)
    state.dirname = old
    state.save()


def pending() -> int:
    from broadsheet.search.models import LexicalPending

    return LexicalPending.objects.count()


def test_an_index_of_an_older_version_is_not_read_and_is_rebuilt_by_embed(index, cached_embed):
    paper = make_paper("Wavelet scattering for audio", abstract="Scattering transforms.")
    index(paper, embed=False)
    _index_of_an_older_version()
    assert found("wavelet") == []  # its fields are not ours: no error
    embed_missing(embed=cached_embed)
    assert found("wavelet") == [paper.title]
    assert pending() == 0


def test_a_write_over_an_older_version_queues_every_paper(index):
    from broadsheet.search.backends.embedded.lexical_pipeline import index_pending

    old = make_paper("Wavelet scattering for audio", abstract="Scattering transforms.")
    index(old, embed=False)
    _index_of_an_older_version()
    new = make_paper("Wavelet packets for images", abstract="Packets.")
    index(new, embed=False)  # as an import's batch would: a new folder, of this version
    assert found("wavelet") == [new.title]
    assert pending() == 2
    assert index_pending() == 2  # what the next `broadsheet embed` or import does first
    assert sorted(found("wavelet")) == sorted([old.title, new.title])


def test_a_writer_waits_for_another_instead_of_failing(index):
    from broadsheet.search.backends.embedded import lexical_index

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
    assert set(found("kernel")) == {first.title, second.title}


def test_reindex_drops_documents_of_deleted_papers(index):
    keep = make_paper("Optimal transport barycenters")
    gone = make_paper("Optimal transport on graphs")
    index(keep, gone, embed=False)
    gone_id = gone.pk
    gone.delete()  # without a signal: the index still holds it until a rebuild
    from broadsheet.search.backends.embedded import lexical_index

    query = lexical_index.build(parse("transport"), Filters())
    assert gone_id in {pid for pid, _ in lexical_index.search(query, 10)}
    reindex()
    assert {pid for pid, _ in lexical_index.search(query, 10)} == {keep.pk}
    assert found("transport") == [keep.title]
