"""/api/v1/ reads: papers, listings, search; filters, pages and Link headers; error shape."""

from __future__ import annotations

import datetime as dt

import pytest
from factories import list_paper, make_listing, make_paper, make_user

DAY = dt.date(2026, 6, 23)
UTC = dt.UTC


def test_paper_by_old_style_id_with_its_listing(client, db):
    alice = make_user("alice")
    paper = make_paper(
        "Strings",
        arxiv_id="hep-th/9901001",
        authors=["Ed Witten"],
        categories=["hep-th", "gr-qc"],
        primary_category="hep-th",
        source_upvotes=4,
    )
    list_paper(paper, DAY, submitted_by=alice)
    data = client.get("/api/v1/papers/hep-th/9901001").json()
    assert data["id"] == "hep-th/9901001"
    assert data["authors"] == ["Ed Witten"]
    assert data["categories"] == ["hep-th", "gr-qc"]
    assert data["votes"] == 4
    assert data["url"] == "http://testserver/papers/hep-th/9901001"
    assert data["listing"]["day"] == "2026-06-23"
    assert data["listing"]["submittedBy"]["username"] == "alice"
    assert data["listing"]["submittedAt"].endswith(("Z", "+00:00"))


def test_unknown_paper_is_a_json_404(client, db):
    response = client.get("/api/v1/papers/2401.99999")
    assert response.status_code == 404
    assert response.json() == {"error": "Paper not found."}


def test_paper_list_filters_and_pages(client, db):
    for i in range(5):
        make_paper(
            f"Paper {i}",
            published_at=dt.datetime(2026, 6, 1 + i, tzinfo=UTC),
            categories=["cs.CL" if i % 2 else "cs.LG"],
            primary_category="cs.CL" if i % 2 else "cs.LG",
        )
    page = client.get("/api/v1/papers?limit=2")
    body = page.json()
    assert [p["title"] for p in body["items"]] == ["Paper 4", "Paper 3"]
    assert body["total"] == 5
    assert 'rel="next"' in page["Link"] and "offset=2" in page["Link"]
    assert 'rel="prev"' not in page["Link"]
    middle = client.get("/api/v1/papers?limit=2&offset=2")
    assert 'rel="prev"' in middle["Link"] and 'rel="next"' in middle["Link"]
    last = client.get("/api/v1/papers?limit=2&offset=4")
    assert 'rel="next"' not in last["Link"]
    cl = client.get("/api/v1/papers?category=cs.CL").json()
    assert {p["title"] for p in cl["items"]} == {"Paper 1", "Paper 3"}
    assert client.get("/api/v1/papers?category=cs").json()["total"] == 5
    dated = client.get("/api/v1/papers?after=2026-06-02&before=2026-06-03").json()
    assert {p["title"] for p in dated["items"]} == {"Paper 1", "Paper 2"}
    # The calendar's ends are accepted as no bound at all (not an overflow).
    ends = client.get("/api/v1/papers?after=0001-01-01&before=9999-12-31").json()
    assert ends["total"] == 5


def test_listed_filter(client, db):
    make_listing(DAY, "On the feed")
    make_paper("Only in the corpus")
    assert [p["title"] for p in client.get("/api/v1/papers?listed=true").json()["items"]] == [
        "On the feed"
    ]
    assert [p["title"] for p in client.get("/api/v1/papers?listed=false").json()["items"]] == [
        "Only in the corpus"
    ]


def test_listings_of_a_day_week_and_month_by_votes(client, db):
    make_listing(DAY, "Few", votes=1)
    make_listing(DAY, "Many", votes=9)
    make_listing(dt.date(2026, 5, 30), "May")

    def titles(query: str) -> list[str]:
        items = client.get(f"/api/v1/listings?{query}").json()["items"]
        return [i["paper"]["title"] for i in items]

    assert titles("date=2026-06-23") == ["Many", "Few"]
    assert titles("week=2026-W26") == ["Many", "Few"]
    assert titles("month=2026-05") == ["May"]
    assert titles("week=2026-W26&month=2026-05") == []  # they narrow each other
    assert titles("date=2026-06-23&month=2026-06") == ["Many", "Few"]
    assert titles("sort=recent")[-1] == "May"
    # Trending looks at the TRENDING_DAYS up to the newest listing: May is too old.
    assert titles("sort=trending") == ["Many", "Few"]


def test_listing_items_carry_votes_and_comment_count(client, db):
    make_listing(DAY, "Counted", votes=3)
    (item,) = client.get("/api/v1/listings?date=2026-06-23").json()["items"]
    assert item["votes"] == 3 and item["commentCount"] == 0
    assert item["day"] == "2026-06-23"


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/papers?limit=0",
        "/api/v1/papers?limit=1000",
        "/api/v1/papers?offset=-1",
        "/api/v1/papers?after=not-a-date",
        "/api/v1/papers?before=0",
        "/api/v1/papers?after=1700000000",
        "/api/v1/papers?category=%00",
        "/api/v1/listings?week=2026-W60",
        "/api/v1/listings?week=2025-W53",
        "/api/v1/listings?month=2026-13",
        "/api/v1/listings?sort=random",
        "/api/v1/search",
        "/api/v1/search?q=",
        "/api/v1/search?q=" + "a" * 251,
    ],
)
def test_invalid_input_is_400_with_an_error_message(client, db, url):
    response = client.get(url)
    assert response.status_code == 400, response.content
    assert list(response.json()) == ["error"]
    assert response.json()["error"]


def test_search_returns_papers_and_pages(client, db, index):
    papers = [
        make_paper(f"Sparse attention {i}", published_at=dt.datetime(2026, 6, 1 + i, tzinfo=UTC))
        for i in range(3)
    ]
    index(*papers, make_paper("Something else"))
    response = client.get("/api/v1/search?q=sparse+attention&limit=2")
    body = response.json()
    assert body["query"] == "sparse attention"
    assert body["total"] == 3
    assert len(body["items"]) == 2
    assert body["items"][0]["paper"]["title"].startswith("Sparse attention")
    assert 'rel="next"' in response["Link"]


def test_search_passes_the_filters_and_gives_the_engine_marks(client, db, index):
    index(
        make_paper(
            "Found by the engine",
            authors=["Ada Lovelace", "Alan Turing"],
            primary_category="cs.CL",
            categories=["cs.CL"],
        ),
        make_paper("Found elsewhere", primary_category="math.AG", categories=["math.AG"]),
    )
    body = client.get("/api/v1/search?q=found&category=cs.CL").json()
    assert [item["paper"]["title"] for item in body["items"]] == ["Found by the engine"]
    assert body["items"][0]["titleHtml"] == "<mark>Found</mark> by the engine"
    assert body["items"][0]["paper"]["authors"] == ["Ada Lovelace", "Alan Turing"]
    assert (body["limit"], body["offset"], body["total"]) == (20, 0, 1)


def test_openapi_document_and_docs_page(client, db):
    doc = client.get("/api/v1/openapi.json").json()
    assert doc["openapi"].startswith("3.")
    assert "/api/v1/papers/{ref}" in doc["paths"]
    docs = client.get("/api/docs")
    assert docs.status_code == 200
    assert b"/api/v1/openapi.json" in docs.content
    assert b"cdn" not in docs.content.lower()  # Swagger UI from our own static files


def test_related_papers_come_from_the_search_app(client, db, index):
    paper = make_paper("Seed: bandit algorithms for graphs", arxiv_id="2606.00010")
    neighbour = make_paper("Neighbour: bandit algorithms")
    hidden = make_paper("Hidden neighbour: bandit algorithms", hidden=True)
    index(paper, neighbour, hidden, make_paper("Protein folding"))
    body = client.get("/api/v1/papers/2606.00010/related?limit=2").json()
    assert [p["title"] for p in body] == [neighbour.title]
    assert client.get("/api/v1/papers/2606.00010/related?limit=21").status_code == 400
    assert client.get("/api/v1/papers/2606.99999/related").status_code == 404
