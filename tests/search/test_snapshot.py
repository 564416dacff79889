"""snapshot.pinned(): one read of the index state per search, and nothing kept after it."""

from __future__ import annotations

from broadsheet.search.backends.embedded import snapshot


def test_reads_once_inside_a_block_and_every_time_outside():
    reads = []

    def read():
        reads.append(len(reads))
        return len(reads)

    assert snapshot.once("x", read) == 1
    assert snapshot.once("x", read) == 2  # no block: every call reads
    with snapshot.pinned():
        assert snapshot.once("x", read) == 3
        assert snapshot.once("x", read) == 3  # the first read holds for the block
        assert snapshot.once("y", read) == 4  # each name has its own
    assert snapshot.once("x", read) == 5  # dropped at the end of the block
    with snapshot.pinned():
        assert snapshot.once("x", read) == 6  # a new block reads afresh


def test_a_new_commit_is_seen_by_the_next_search(db, index):
    from broadsheet.search import search
    from tests.factories import make_paper

    first = make_paper("Causal graphs")
    index(first, embed=False)
    assert [h.paper.pk for h in search("causal").hits] == [first.pk]
    second = make_paper("Causal bandits")
    index(second, embed=False)
    assert {h.paper.pk for h in search("causal").hits} == {first.pk, second.pk}
