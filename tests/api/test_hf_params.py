"""/api/daily_papers, /api/papers/{id}, /api/papers/search: parameters, limits, errors, paging."""

from __future__ import annotations

import datetime as dt

import pytest
from factories import list_paper, make_listing, make_paper

DAY = dt.date(2026, 6, 23)


@pytest.mark.parametrize(
    "query",
    [
        "date=2026-02-30",
        "date=yesterday",
        "date=٢٠٢٦-06-23",  # other scripts' digits are not dates
        "week=2026-W60",
        "week=2026-26",
        "month=2026-13",
        "date=2026-06-23&week=2026-W26",
        "limit=0",
        "limit=101",
        "limit=ten",
        "p=-1",
        "sort=votes",
    ],
)
def test_bad_parameters_are_400_with_an_error(client, db, query):
    response = client.get(f"/api/daily_papers?{query}")
    assert response.status_code == 400
    assert set(response.json()) == {"error"}


def test_default_limit_is_50_and_link_points_at_the_next_page(client, db):
    for i in range(51):
        make_listing(DAY, f"Paper {i}", submitted_at=dt.datetime(2026, 6, 23, 0, i, tzinfo=dt.UTC))
    response = client.get("/api/daily_papers?date=2026-06-23")
    assert len(response.json()) == 50
    link = response["Link"]
    assert link.startswith("<http://testserver/api/daily_papers?") and link.endswith('rel="next"')
    assert "p=1" in link and "date=2026-06-23" in link
    last = client.get("/api/daily_papers?date=2026-06-23&p=1")
    assert [item["title"] for item in last.json()] == ["Paper 0"]
    assert "Link" not in last


def test_items_are_camel_case_with_utc_dates(client, db):
    listing = make_listing(
        DAY,
        "Shape",
        votes=2,
        published_at=dt.datetime(2026, 6, 22, 1, 2, 3, 456789, tzinfo=dt.UTC),
        submitted_at=dt.datetime(2026, 6, 23, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=2))),
    )
    (item,) = client.get("/api/daily_papers?date=2026-06-23").json()
    assert item["publishedAt"] == "2026-06-23T08:00:00.000Z"
    assert item["numComments"] == 0
    assert item["paper"]["id"] == listing.paper.slug
    assert item["paper"]["publishedAt"] == "2026-06-22T01:02:03.456Z"
    assert item["paper"]["upvotes"] == 2
    assert item["paper"]["submittedOnDailyAt"] == "2026-06-23T08:00:00.000Z"


def test_no_period_pages_through_every_listing_newest_first(client, db):
    make_listing(dt.date(2026, 6, 1), "June")
    make_listing(dt.date(2026, 7, 1), "July")
    titles = [i["title"] for i in client.get("/api/daily_papers").json()]
    assert titles == ["July", "June"]


def test_hidden_listings_are_left_out(client, db):
    make_listing(DAY, "Shown")
    make_listing(DAY, "Hidden", listing_hidden=True)
    titles = [i["title"] for i in client.get("/api/daily_papers?date=2026-06-23").json()]
    assert titles == ["Shown"]


def test_trending_sort_ranks_by_votes_on_the_same_day(client, db):
    make_listing(DAY, "Few", votes=1)
    make_listing(DAY, "Many", votes=50)
    items = client.get("/api/daily_papers?date=2026-06-23&sort=trending").json()
    assert [i["title"] for i in items] == ["Many", "Few"]


def test_paper_by_slug_and_unknown_ids(client, db):
    paper = make_paper("Slugged")
    assert client.get(f"/api/papers/{paper.slug}").json()["title"] == "Slugged"
    for ref in ["nope", "2401.00001", "x" * 300, "a%00b"]:
        response = client.get(f"/api/papers/{ref}")
        assert response.status_code == 404
        assert "error" in response.json()


def test_paper_object_is_at_the_top_level(client, db):
    paper = make_paper("Top", arxiv_id="2606.00001", authors=["A. Author"])
    list_paper(paper, DAY)
    data = client.get("/api/papers/2606.00001").json()
    assert data["id"] == "2606.00001"
    assert data["authors"] == [{"name": "A. Author", "hidden": False}]
    assert data["numComments"] == 0
    assert "submittedOnDailyAt" in data


def test_search_limits(client, db, index):
    index(*(make_paper(f"Graph networks {i}") for i in range(3)))
    assert len(client.get("/api/papers/search?q=graph").json()) == 3
    assert len(client.get("/api/papers/search?q=graph&limit=2").json()) == 2
    assert client.get("/api/papers/search?q=graph&limit=121").status_code == 400
    assert client.get("/api/papers/search?q=graph&limit=0").status_code == 400
    assert client.get("/api/papers/search?q=" + "a" * 251).status_code == 400
    assert client.get("/api/papers/search?q=" + "a" * 250).status_code == 200
    assert client.get("/api/papers/search").json() == []


def test_only_get_is_allowed(client, db):
    assert client.post("/api/daily_papers").status_code == 405


def test_a_foreign_bearer_token_is_ignored(client, db):
    """huggingface_hub sends a saved Hugging Face token to any endpoint."""
    response = client.get("/api/daily_papers", headers={"Authorization": "Bearer hf_abcdef"})
    assert response.status_code == 200


def test_a_revoked_broadsheet_token_is_refused(client, member):
    response = client.get("/api/daily_papers", headers={"Authorization": "Bearer bsk_00_nope"})
    assert response.status_code == 401
