"""SQLite mode's vector file: the graph it is built with and the ef it is searched with."""

from __future__ import annotations

import pytest
from django.db import connection

from broadsheet.search import vectorindex


def test_expansion_search_grows_with_the_index_through_the_measured_points():
    (small, ef_small), (large, ef_large) = vectorindex.EXPANSION_MEASURED
    sizes = [1, 20_000, small, small + 1, 500_000, large, 2 * large, 100 * large]
    efs = [vectorindex.expansion_search(n) for n in sizes]
    assert efs == sorted(efs)  # never less for a bigger index
    assert efs[0] == ef_small and vectorindex.expansion_search(small) == ef_small
    assert ef_small < vectorindex.expansion_search(500_000) < ef_large
    assert vectorindex.expansion_search(large) == ef_large
    assert efs[-1] == vectorindex.EXPANSION_MAX


def test_a_generation_is_built_with_our_graph_and_searched_with_its_ef(sample):
    if connection.vendor != "sqlite":
        pytest.skip("PostgreSQL mode uses pgvector")
    index, size = vectorindex.current()
    assert size == 34
    assert index.connectivity == vectorindex.CONNECTIVITY
    assert index.expansion_search == vectorindex.expansion_search(size)
