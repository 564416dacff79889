"""/api/v1/me/subscription and /api/v1/me/saved-searches: the caller's own digest only."""

from __future__ import annotations

import feedparser
import pytest
from django.core import mail
from factories import make_user

from broadsheet.api.tokens import create_token
from broadsheet.digests.models import SavedSearch, Subscription

from .conftest import bearer


@pytest.fixture
def bob_token(db) -> str:
    return create_token(make_user("bob"), "bob's", "write")[1]


def test_subscription_starts_as_none_and_subscribing_waits_for_confirmation(
    client, member, write_token, read_token
):
    got = client.get("/api/v1/me/subscription", headers=bearer(read_token))
    assert got.status_code == 200 and got.json()["status"] == "none"
    changed = client.patch(
        "/api/v1/me/subscription",
        {"subscribed": True, "frequency": "weekly", "topN": 5, "weekdays": [0, 2]},
        content_type="application/json",
        headers=bearer(write_token),
    )
    assert changed.status_code == 200, changed.content
    body = changed.json()
    assert body["status"] == "pending" and body["email"] == "ada@example.org"
    assert body["frequency"] == "weekly" and body["topN"] == 5 and body["weekdays"] == [0, 2]
    assert mail.outbox == []  # the worker sends the confirmation, not the request
    assert Subscription.objects.get().confirmation_due

    off = client.patch(
        "/api/v1/me/subscription", {"subscribed": False}, content_type="application/json",
        headers=bearer(write_token),
    )  # fmt: skip
    assert off.json()["status"] == "unsubscribed"


def test_read_tokens_read_and_anonymous_callers_get_401(client, member, read_token):
    assert client.get("/api/v1/me/subscription").status_code == 401
    assert client.get("/api/v1/me/saved-searches").status_code == 401
    refused = client.post(
        "/api/v1/me/saved-searches", {"query": "x"}, content_type="application/json",
        headers=bearer(read_token),
    )  # fmt: skip
    assert refused.status_code == 403 and "read scope" in refused.json()["error"]
    assert client.get("/api/v1/me/saved-searches", headers=bearer(read_token)).json() == []


def test_bad_settings_are_400_with_a_message(client, member, write_token):
    for body in ({"topN": 99}, {"weekdays": [7]}, {"frequency": "hourly"}):
        response = client.patch(
            "/api/v1/me/subscription", body, content_type="application/json",
            headers=bearer(write_token),
        )  # fmt: skip
        assert response.status_code == 400 and response.json()["error"]
    not_yet = client.patch(
        "/api/v1/me/subscription", {"topN": 3}, content_type="application/json",
        headers=bearer(write_token),
    )  # fmt: skip
    assert not_yet.status_code == 409 and "subscribed" in not_yet.json()["error"]


def test_saved_searches_are_created_listed_and_deleted_only_by_their_owner(
    client, member, write_token, bob_token
):
    made = client.post(
        "/api/v1/me/saved-searches", {"query": "diffusion\r\nmodels", "category": "cs.CV"},
        content_type="application/json", headers=bearer(write_token),
    )  # fmt: skip
    assert made.status_code == 201, made.content
    saved = made.json()
    assert saved["query"] == "diffusion models" and saved["category"] == "cs.CV"
    assert saved["rssUrl"].startswith("http://testserver/feeds/saved/")
    again = client.post(
        "/api/v1/me/saved-searches", {"query": "diffusion models", "category": "cs.CV"},
        content_type="application/json", headers=bearer(write_token),
    )  # fmt: skip
    assert again.status_code == 200 and again.json()["id"] == saved["id"]
    blank = client.post(
        "/api/v1/me/saved-searches", {"query": "   "}, content_type="application/json",
        headers=bearer(write_token),
    )  # fmt: skip
    assert blank.status_code == 400

    # Bob sees none of Ada's and cannot delete hers.
    assert client.get("/api/v1/me/saved-searches", headers=bearer(bob_token)).json() == []
    url = f"/api/v1/me/saved-searches/{saved['id']}"
    assert client.delete(url, headers=bearer(bob_token)).status_code == 404
    assert SavedSearch.objects.count() == 1
    listed = client.get("/api/v1/me/saved-searches", headers=bearer(write_token)).json()
    assert [s["id"] for s in listed] == [saved["id"]]

    feed = client.get(saved["rssUrl"].removeprefix("http://testserver"))
    assert feed.status_code == 200 and not feedparser.parse(feed.content).bozo

    assert client.delete(url, headers=bearer(write_token)).status_code == 204
    assert client.delete(url, headers=bearer(write_token)).status_code == 404
    assert client.get(saved["rssUrl"].removeprefix("http://testserver")).status_code == 404
