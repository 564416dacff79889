"""`since` on /api/v1/papers and /api/v1/listings: a script picks up exactly what is new, page
by page, with no paper missed or repeated however many share a timestamp."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.utils import timezone
from factories import list_paper, make_paper

from broadsheet.papers.models import Listing, Paper

pytestmark = pytest.mark.django_db

UTC = dt.UTC
T0 = dt.datetime(2026, 6, 23, 9, 0, tzinfo=UTC)
DAY = dt.date(2026, 6, 23)


@pytest.fixture(autouse=True)
def settle(settings):
    settings.API_SINCE_SETTLE_SECONDS = 60
    return settings


def papers_at(moment: dt.datetime, n: int, prefix: str) -> list[Paper]:
    papers = [make_paper(f"{prefix} {i}") for i in range(n)]
    Paper.objects.filter(pk__in=[p.pk for p in papers]).update(modified=moment)
    return papers


def read_all(client, url: str, since: str, limit: int = 2) -> tuple[list[str], str]:
    """Every page from `since` on, following nextSince; the titles and the last cursor."""
    seen: list[str] = []
    while True:
        response = client.get(url, {"since": since, "limit": limit})
        assert response.status_code == 200, response.content
        body = response.json()
        items = body["items"]
        titles = [i["title"] if "title" in i else i["paper"]["title"] for i in items]
        seen += titles
        assert body["offset"] == 0 and body["nextSince"]
        assert body["total"] >= len(items)
        if body["total"] > len(items):
            assert 'rel="next"' in response["Link"] and "since=" in response["Link"]
        since = body["nextSince"]
        if not items:
            return seen, since


def test_papers_since_pages_through_equal_timestamps_and_then_only_what_is_new(client):
    # Seven papers stored in one import batch (one timestamp), two a second later.
    batch = papers_at(T0, 7, "Batch")
    later = papers_at(T0 + dt.timedelta(seconds=1), 2, "Later")
    old = papers_at(T0 - dt.timedelta(days=1), 1, "Old")

    seen, cursor = read_all(client, "/api/v1/papers", "2026-06-23")
    assert seen == [p.title for p in batch + later]  # oldest change first, ids breaking ties

    # Nothing new: the same cursor comes back, and nothing is repeated.
    again = client.get("/api/v1/papers", {"since": cursor}).json()
    assert again["items"] == [] and again["nextSince"] == cursor and again["total"] == 0

    # A new paper, and a change to an old one (a new version): each comes once.
    new = papers_at(T0 + dt.timedelta(minutes=5), 1, "New")
    Paper.objects.filter(pk=old[0].pk).update(modified=T0 + dt.timedelta(minutes=6))
    seen, _ = read_all(client, "/api/v1/papers", cursor)
    assert seen == [new[0].title, old[0].title]


def test_without_since_the_answer_says_where_what_is_new_will_start(client):
    papers_at(T0, 3, "Before")
    body = client.get("/api/v1/papers", {"limit": 1}).json()
    assert len(body["items"]) == 1 and body["total"] == 3
    cursor = body["nextSince"]
    new = papers_at(T0 + dt.timedelta(hours=1), 2, "After")
    seen, _ = read_all(client, "/api/v1/papers", cursor)
    assert seen == [p.title for p in new]
    # Other narrowings apply as well.
    assert (
        client.get("/api/v1/papers", {"since": cursor, "category": "q-bio"}).json()["items"] == []
    )


def test_what_changed_within_the_settle_time_waits_for_a_later_read(client):
    with time_machine.travel(T0 + dt.timedelta(hours=2), tick=False):
        fresh = make_paper("Just stored")  # modified: now
        body = client.get("/api/v1/papers", {"since": "2026-06-23"}).json()
        assert body["items"] == []
        assert client.get("/api/v1/papers").json()["nextSince"] is None
    with time_machine.travel(T0 + dt.timedelta(hours=2, seconds=61), tick=False):
        body = client.get("/api/v1/papers", {"since": "2026-06-23"}).json()
        assert [p["title"] for p in body["items"]] == [fresh.title]


@pytest.mark.parametrize(
    "query, message",
    [
        ({"since": "yesterday"}, "since"),  # refused by the documented pattern
        ({"since": "20261305T000000.000000Z-1"}, "`since` takes the `nextSince`"),
        ({"since": "2026-02-30"}, "`since` takes the `nextSince`"),
        ({"since": "20260623T090000.000000Z-9999999999999999999"}, "`since` takes"),
        ({"since": "2026-06-23", "offset": "20"}, "not `offset`"),
    ],
)
@pytest.mark.parametrize("url", ["/api/v1/papers", "/api/v1/listings"])
def test_a_bad_since_is_a_400_with_a_message(client, url, query, message):
    response = client.get(url, query)
    assert response.status_code == 400
    assert message in response.json()["error"]


def test_listings_since_count_from_when_they_were_stored_not_their_source_time(client):
    papers = [make_paper(f"Listed {i}") for i in range(5)]
    with time_machine.travel(T0, tick=False):
        for paper in papers[:4]:
            list_paper(paper, DAY)  # four in one batch: one timestamp
    seen, cursor = read_all(client, "/api/v1/listings", "2026-06-23T08:00:00Z", limit=3)
    assert seen == [p.title for p in papers[:4]]

    # A listing that arrives later with a source's earlier time (Hugging Face's date) is
    # still new to the script.
    with time_machine.travel(T0 + dt.timedelta(hours=1), tick=False):
        late = list_paper(papers[4], DAY, submitted_at=T0 - dt.timedelta(days=3))
    assert late.created > late.submitted_at
    seen, _ = read_all(client, "/api/v1/listings", cursor)
    assert seen == [papers[4].title]
    # Without since, the newest stored listing is where new ones will start.
    body = client.get("/api/v1/listings", {"date": "2026-06-23"}).json()
    assert body["nextSince"] == cursor_after(late)


def cursor_after(listing: Listing) -> str:
    return f"{timezone.localtime(listing.created, UTC):%Y%m%dT%H%M%S.%f}Z-{listing.pk}"
