"""Comments, submissions (look-ups at arXiv) and searches (the page and the search feeds) are
limited per member or per client with the database token bucket: past the limit a clear 429,
never a 500, and the allowance comes back in time."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.test import Client
from factories import make_listing, make_user

from broadsheet.ingest.records import PaperRecord
from broadsheet.ingest.submit import SubmitError, submit
from broadsheet.lib.limits import RateLimited
from broadsheet.papers.models import Comment, Paper

START = dt.datetime(2026, 6, 23, 12, 0, tzinfo=dt.UTC)


def member_client(name: str, **extra) -> Client:
    client = Client(**extra)
    client.force_login(make_user(name))
    return client


# Comments ----------------------------------------------------------------------------------


def test_comments_are_limited_per_member(db, settings):
    settings.COMMENTS_PER_HOUR = 3
    paper = make_listing(START.date(), "A paper to discuss").paper
    url = f"{paper.get_absolute_url()}/comment"
    ada, grace = member_client("ada"), member_client("grace")
    with time_machine.travel(START, tick=False) as clock:
        statuses = [ada.post(url, {"body": f"Comment {i}"}).status_code for i in range(4)]
        assert statuses == [302, 302, 302, 429]
        refused = ada.post(url, {"body": "One more"})
        assert refused.status_code == 429
        assert refused["Retry-After"] == "1200"  # an hour / 3
        page = refused.content.decode()
        assert "posting comments faster than this site allows" in page
        assert "Try again in 20 minutes." in page and '<html lang="en">' in page
        assert Comment.objects.filter(user__username="ada").count() == 3
        assert grace.post(url, {"body": "Mine"}).status_code == 302  # another member
        clock.shift(dt.timedelta(minutes=20))
        assert ada.post(url, {"body": "Later"}).status_code == 302


# Submissions -------------------------------------------------------------------------------


def test_every_look_up_at_arxiv_counts_even_for_unknown_ids(db, settings):
    settings.SUBMIT_FETCHES_PER_HOUR = 3
    ada = make_user("ada")
    asked: list[str] = []

    def arxiv_has_nothing(arxiv_id: str) -> PaperRecord | None:
        asked.append(arxiv_id)
        return None

    with time_machine.travel(START, tick=False) as clock:
        for n in range(3):
            with pytest.raises(SubmitError, match="arXiv has no paper"):
                submit(ada, f"2606.0000{n}", fetch=arxiv_has_nothing)
        with pytest.raises(RateLimited) as refused:
            submit(ada, "2606.00009", fetch=arxiv_has_nothing)
        assert refused.value.retry_after == 1200
        assert asked == ["2606.00000", "2606.00001", "2606.00002"]  # not asked the fourth time
        # Papers the site already has need no look-up and are not limited.
        known = make_listing(START.date(), "Known", arxiv_id="2606.01000").paper
        known.listing.delete()
        assert submit(ada, "2606.01000", now=START).paper == known
        clock.shift(dt.timedelta(minutes=20))
        with pytest.raises(SubmitError, match="arXiv has no paper"):
            submit(ada, "2606.00009", fetch=arxiv_has_nothing)


def test_the_submit_page_and_api_answer_429_past_the_limit(db, settings):
    from broadsheet.api.tokens import create_token

    settings.SUBMIT_FETCHES_PER_HOUR = 1
    # Nothing listens there: the one allowed look-up fails quickly as "arXiv unreachable".
    settings.ARXIV_API_URL = "http://127.0.0.1:9/api/query"
    ada = make_user("ada")
    client = Client()
    client.force_login(ada)
    with time_machine.travel(START, tick=False):
        first = client.post("/submit", {"paper": "2606.00001"})
        assert first.status_code == 400 and "could not be reached" in first.content.decode()
        refused = client.post("/submit", {"paper": "2606.00002"})
        assert refused.status_code == 429 and refused["Retry-After"] == "3600"
        assert "too many papers that are not on this site yet" in refused.content.decode()
        _, token = create_token(ada, "bot", scope="write")
        response = Client().post(
            "/api/v1/submissions",
            {"arxivId": "2606.00003"},
            content_type="application/json",
            headers={"Authorization": f"Bearer {token}"},
        )
        assert response.status_code == 429 and response["Retry-After"] == "3600"
        assert "not on this site yet" in response.json()["error"]
    assert not Paper.objects.exists()


# Search ------------------------------------------------------------------------------------


@pytest.fixture
def searches(db, settings):
    settings.SEARCH_SEMANTIC = False
    settings.SEARCHES_PER_MINUTE = 3


def test_the_search_page_is_limited_per_client(searches):
    here, there = Client(REMOTE_ADDR="203.0.113.1"), Client(REMOTE_ADDR="203.0.113.2")
    with time_machine.travel(START, tick=False) as clock:
        statuses = [here.get("/search", {"q": f"graph {i}"}).status_code for i in range(3)]
        assert statuses == [200, 200, 200]
        refused = here.get("/search", {"q": "graph neural networks"})
        assert refused.status_code == 429 and refused["Retry-After"] == "20"
        assert "searching faster than this site allows" in refused.content.decode()
        # As you type, too: the same allowance.
        assert here.get("/search", {"q": "graph", "partial": "1"}).status_code == 429
        # The empty search page costs nothing.
        assert here.get("/search").status_code == 200
        assert there.get("/search", {"q": "graph"}).status_code == 200
        clock.shift(20)
        assert here.get("/search", {"q": "graph"}).status_code == 200


def test_search_feeds_share_the_allowance_and_answer_a_plain_429(searches):
    client = Client(REMOTE_ADDR="203.0.113.3")
    with time_machine.travel(START, tick=False):
        assert client.get("/search", {"q": "graph"}).status_code == 200
        assert client.get("/feeds/search.rss", {"q": "graph"}).status_code == 200
        assert client.get("/feeds/search.atom", {"q": "graph"}).status_code == 200
        refused = client.get("/feeds/search.rss", {"q": "graph"})
        assert refused.status_code == 429 and refused["Retry-After"] == "20"
        assert refused["Content-Type"].startswith("text/plain")
        assert "Try again in 20 seconds." in refused.content.decode()
        assert "Cache-Control" not in refused  # a refusal is not cached as the feed


def test_members_are_limited_per_member_not_per_address(searches):
    ada = member_client("ada", REMOTE_ADDR="203.0.113.4")
    grace = member_client("grace", REMOTE_ADDR="203.0.113.4")
    with time_machine.travel(START, tick=False):
        assert [ada.get("/search", {"q": "x"}).status_code for _ in range(4)] == [200] * 3 + [429]
        assert grace.get("/search", {"q": "x"}).status_code == 200
        assert Client(REMOTE_ADDR="203.0.113.4").get("/search", {"q": "x"}).status_code == 200
