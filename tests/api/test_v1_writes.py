"""/api/v1/ writes: upvotes and submissions need a write-scope token or a session + CSRF."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone
from factories import list_paper, make_paper

from broadsheet.api.tokens import create_token
from broadsheet.papers.models import Listing, Upvote

from .conftest import bearer


@pytest.fixture
def paper(db):
    return make_paper("Votable", arxiv_id="2606.00042")


def test_upvote_and_remove_with_a_write_token(client, member, write_token, paper):
    url = "/api/v1/papers/2606.00042/upvote"
    first = client.post(url, headers=bearer(write_token))
    assert first.status_code == 200 and first.json() == {"upvoted": True, "votes": 1}
    again = client.post(url, headers=bearer(write_token))
    assert again.json() == {"upvoted": True, "votes": 1}
    removed = client.delete(url, headers=bearer(write_token))
    assert removed.json() == {"upvoted": False, "votes": 0}
    assert not Upvote.objects.exists()


def test_upvote_an_old_style_id(client, member, write_token):
    make_paper("Old", arxiv_id="hep-th/9901001")
    response = client.post("/api/v1/papers/hep-th/9901001/upvote", headers=bearer(write_token))
    assert response.json()["upvoted"] is True


def test_read_token_cannot_write(client, member, read_token, paper):
    response = client.post("/api/v1/papers/2606.00042/upvote", headers=bearer(read_token))
    assert response.status_code == 403
    assert "read scope" in response.json()["error"]
    assert not Upvote.objects.exists()


def test_anonymous_cannot_write(client, paper):
    response = client.post("/api/v1/papers/2606.00042/upvote")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert "error" in response.json()


def test_revoked_token_is_refused_for_reads_and_writes(client, member, paper):
    row, token = create_token(member, "soon gone", "write")
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 200
    row.delete()
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 401
    assert client.get("/api/v1/papers", headers=bearer(token)).status_code == 401
    response = client.post("/api/v1/papers/2606.00042/upvote", headers=bearer(token))
    assert response.status_code == 401


def test_token_of_a_deactivated_member_is_refused(client, member, write_token):
    member.is_active = False
    member.save()
    assert client.get("/api/v1/me", headers=bearer(write_token)).status_code == 401


def test_malformed_authorization_is_401(client, db):
    for value in ["Bearer", "Basic dXNlcjpwYXNz", "Bearer bsk_", "Bearer bsk_abc_def"]:
        response = client.get("/api/v1/papers", headers={"Authorization": value})
        assert response.status_code == 401, value


def test_me_tells_scope(client, member, read_token, write_token):
    assert client.get("/api/v1/me", headers=bearer(read_token)).json() == {
        "username": "ada",
        "auth": "token",
        "scope": "read",
    }
    assert client.get("/api/v1/me", headers=bearer(write_token)).json()["scope"] == "write"
    assert client.get("/api/v1/me").status_code == 401


def test_session_writes_need_the_csrf_token(member, paper):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(member)
    url = "/api/v1/papers/2606.00042/upvote"
    refused = browser.post(url)
    assert refused.status_code == 403 and "CSRF" in refused.json()["error"]
    browser.get("/api/v1/me")  # any page; the test client keeps the CSRF cookie once set
    browser.get("/settings/tokens")
    csrf = browser.cookies["csrftoken"].value
    accepted = browser.post(url, headers={"X-CSRFToken": csrf})
    assert accepted.status_code == 200 and accepted.json()["upvoted"] is True


def test_vote_rate_limit_is_the_sites(client, member, write_token, paper, settings):
    settings.VOTES_PER_MINUTE = 1
    url = "/api/v1/papers/2606.00042/upvote"
    assert client.post(url, headers=bearer(write_token)).status_code == 200
    limited = client.delete(url, headers=bearer(write_token))
    assert limited.status_code == 429
    assert limited["Retry-After"] == "60"


def test_submit_a_known_recent_paper(client, member, write_token):
    make_paper("Fresh", arxiv_id="2606.00777", published_at=timezone.now() - dt.timedelta(days=1))
    response = client.post(
        "/api/v1/submissions",
        {"arxivId": "arXiv:2606.00777v2"},
        content_type="application/json",
        headers=bearer(write_token),
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["paper"]["id"] == "2606.00777"
    assert body["submittedBy"]["username"] == "ada"
    assert Listing.objects.get().submitted_by == member


def test_submit_refusals(client, member, write_token):
    listed = make_paper("Listed", arxiv_id="2606.00888", published_at=timezone.now())
    list_paper(listed, timezone.localdate())
    post = lambda body: client.post(  # noqa: E731
        "/api/v1/submissions", body, content_type="application/json", headers=bearer(write_token)
    )
    conflict = post({"arxivId": "2606.00888"})
    assert conflict.status_code == 409 and "already listed" in conflict.json()["error"]
    not_an_id = post({"arxivId": "hello"})
    assert not_an_id.status_code == 400 and "not an arXiv id" in not_an_id.json()["error"]
    missing = post({})
    assert missing.status_code == 400 and "arxivId" in missing.json()["error"]
    broken = client.post(
        "/api/v1/submissions",
        "{not json",
        content_type="application/json",
        headers=bearer(write_token),
    )
    assert broken.status_code == 400 and "error" in broken.json()
