"""Search input that cannot cost more than it should: dates at the calendar's ends, and the
number of OR branches, terms and author clauses of one query."""

from __future__ import annotations

import datetime as dt

import pytest
from factories import make_paper

from broadsheet.search.indexing import index_papers
from broadsheet.search.query import MAX_AUTHORS, MAX_OR_BRANCHES, MAX_TERMS, parse


@pytest.fixture
def papers(db):
    paper = make_paper(
        "Sparse attention kernels",
        arxiv_id="2606.00001",
        authors=["Ada Lovelace"],
        published_at=dt.datetime(2026, 6, 20, tzinfo=dt.UTC),
    )
    index_papers([paper.pk])  # lexical only: no embedding needed to find a word


EXTREME_QUERIES = [
    "attention before:9999",
    "attention before:9999-12-31",
    "attention after:9999-12-31",
    "attention after:0001-01-01 before:0001-01-01",
    "attention after:1",
    "before:9999",
]


@pytest.mark.parametrize("q", EXTREME_QUERIES)
@pytest.mark.parametrize("url", ["/search", "/feeds/search.rss", "/feeds/search.atom"])
def test_dates_at_the_calendars_ends_in_the_query_are_not_a_500(client, papers, url, q):
    response = client.get(url, {"q": q})
    assert response.status_code in (200, 400), (url, q, response.status_code)


@pytest.mark.parametrize(
    "params",
    [
        {"before": "9999-12-31"},
        {"after": "9999-12-31"},
        {"after": "0001-01-01", "before": "0001-01-01"},
        {"before": "0001-01-01"},
    ],
)
def test_extreme_date_parameters_of_the_search_page_and_v1_api(client, papers, params):
    assert client.get("/search", {"q": "attention", **params}).status_code == 200
    response = client.get("/api/v1/search", {"q": "attention", **params})
    assert response.status_code == 200, response.content[:300]
    assert client.get("/api/v1/papers", params).status_code == 200


def test_hf_search_with_an_extreme_date_in_the_query(client, papers):
    response = client.get("/api/papers/search", {"q": "attention before:9999"})
    assert response.status_code == 200, response.content[:300]


def test_an_open_end_still_finds_the_paper(client, papers):
    response = client.get("/api/v1/search", {"q": "sparse before:9999", "after": "0001-01-01"})
    assert [i["paper"]["id"] for i in response.json()["items"]] == ["2606.00001"]
    response = client.get("/api/v1/search", {"q": "sparse after:9999"})
    assert response.json()["items"] == []


# The cost of one query ---------------------------------------------------------------------

AUTHOR_CHAIN = " OR ".join(f"author:a{i}" for i in range(MAX_AUTHORS + 5))
OR_CHAIN = " OR ".join(f"w{i}" for i in range(MAX_OR_BRANCHES + 5))
MANY_TERMS = " ".join(f"t{i}" for i in range(MAX_TERMS + 5))


def test_the_parser_keeps_at_most_the_bounds_and_says_so():
    authors = parse(AUTHOR_CHAIN)
    assert len(authors.filters.authors) == MAX_AUTHORS
    assert authors.limits and "author" in authors.limits[0]
    assert authors.limits[0] in authors.notices
    branches = parse(OR_CHAIN)
    assert [len(c) for c in branches.clauses] == [MAX_OR_BRANCHES]
    assert "OR" in branches.limits[0]
    terms = parse(MANY_TERMS)
    assert sum(len(c) for c in terms.clauses) == MAX_TERMS
    assert str(MAX_TERMS) in terms.limits[0]
    assert parse("a OR b author:x title:y -z").limits == []


@pytest.mark.parametrize("q", [AUTHOR_CHAIN, OR_CHAIN, MANY_TERMS])
def test_the_search_page_shows_why_a_query_was_cut(client, papers, q):
    response = client.get("/search", {"q": q})
    assert response.status_code == 200
    assert "Only the first" in response.content.decode()


@pytest.mark.parametrize("q", [AUTHOR_CHAIN, OR_CHAIN, MANY_TERMS])
def test_the_apis_refuse_a_query_over_the_bounds(client, papers, q):
    v1 = client.get("/api/v1/search", {"q": q})
    assert v1.status_code == 400
    assert "Only the first" in v1.json()["error"]
    hf = client.get("/api/papers/search", {"q": q})
    assert hf.status_code == 400
    assert "Only the first" in hf.json()["error"]


def test_a_query_within_the_bounds_still_answers(client, papers):
    assert client.get("/api/v1/search", {"q": "sparse OR dense author:ada"}).status_code == 200
    assert client.get("/api/papers/search", {"q": "sparse OR dense"}).status_code == 200
