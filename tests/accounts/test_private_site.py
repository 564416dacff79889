"""A private site (BROADSHEET_PRIVATE=true): members only, by session or API token."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.cache import caches
from factories import make_listing, make_user

from broadsheet.api.models import ApiToken
from broadsheet.api.tokens import create_token

pytestmark = pytest.mark.django_db


@pytest.fixture
def member(db):
    """A member without a password: nothing here logs in by one (and argon2 is slow)."""
    return make_user("ada")


DAY = dt.date(2026, 6, 23)


@pytest.fixture
def private(settings):
    settings.PRIVATE = True
    return settings


@pytest.fixture
def listing(db):
    return make_listing(DAY, "Private Lab Results", votes=3)


def test_anonymous_pages_go_to_the_login_page_and_members_see_them(
    client, private, listing, member
):
    pages = [
        "/",
        f"/papers/date/{DAY}",
        "/papers/trending",
        listing.paper.get_absolute_url(),
        "/search?q=lab",
        f"/u/{member.username}",
        "/accounts/signup/",
        "/api/docs",
        "/no/such/page",
    ]
    for url in pages:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/accounts/login/?next="), url
        assert response["X-Robots-Tag"] == "noindex, nofollow"
    client.force_login(member)
    home = client.get("/")
    assert home.status_code == 200
    assert "Private Lab Results" in home.content.decode()
    assert "private" in home["Cache-Control"]


def test_the_ways_in_stay_open(client, private):
    login = client.get("/accounts/login/")
    assert login.status_code == 200
    assert "members only" in login.content.decode()
    assert "Create an account" not in login.content.decode()
    assert client.get("/accounts/password_reset/").status_code == 200
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").status_code in (200, 503)  # open; its answer is its own
    assert client.get("/robots.txt").content.decode() == "User-agent: *\nDisallow: /\n"


def test_a_public_site_is_unchanged(client, listing):
    assert client.get("/").status_code == 200
    assert client.get("/feeds/daily.rss").status_code == 200
    assert client.get("/api/v1/papers").status_code == 200
    assert client.get("/robots.txt").content.decode() == "User-agent: *\nDisallow:\n"
    assert client.get("/accounts/signup/").status_code == 200


def test_the_anonymous_page_cache_never_serves_a_private_site(client, settings, listing):
    caches["pages"].clear()
    settings.PAGE_CACHE_SECONDS = 300
    first = client.get("/")
    assert first.status_code == 200 and "public" in first["Cache-Control"]
    # The operator turns the site private with the public rendering still in the cache.
    settings.PRIVATE = True
    for _ in range(2):
        response = client.get("/")
        assert response.status_code == 302
        assert b"Private Lab Results" not in response.content
    assert client.get("/", headers={"If-None-Match": first["ETag"]}).status_code == 302


def test_the_api_needs_a_token_or_a_session(client, private, listing, member):
    for url in ("/api/v1/papers", "/api/v1/listings", "/api/daily_papers", "/api/v1/me"):
        response = client.get(url)
        assert response.status_code == 401, url
        assert response["Content-Type"] == "application/json"
        assert "private" in response.json()["error"]
        assert response["WWW-Authenticate"] == 'Bearer realm="api"'
    wrong = client.get("/api/v1/papers", headers={"Authorization": "Bearer bsk_0000_nope"})
    assert wrong.status_code == 401
    assert wrong.json() == {"error": "Unknown or revoked API token."}
    hf = client.get("/api/daily_papers", headers={"Authorization": "Bearer hf_someone"})
    assert hf.status_code == 401  # a foreign token is no member of ours

    _, token = create_token(member, "script")
    auth = {"Authorization": f"Bearer {token}"}
    papers = client.get("/api/v1/papers", headers=auth)
    assert papers.status_code == 200
    assert papers.json()["items"][0]["title"] == "Private Lab Results"
    assert client.get("/api/daily_papers", headers=auth).status_code == 200
    assert client.get("/api/v1/me", headers=auth).json()["username"] == member.username
    client.force_login(member)
    assert client.get("/api/v1/papers").status_code == 200


def test_feeds_take_a_read_token_in_the_url(client, private, listing, member):
    assert client.get("/feeds/daily.rss").status_code == 401
    assert client.get("/feeds/daily.rss?token=bsk_0000_nope").status_code == 401
    _, read = create_token(member, "feed reader")
    feed = client.get(f"/feeds/daily.rss?token={read}")
    assert feed.status_code == 200
    assert "Private Lab Results" in feed.content.decode()
    assert "private" in feed["Cache-Control"] and "public" not in feed["Cache-Control"]
    by_header = client.get("/feeds/trending.atom", headers={"Authorization": f"Bearer {read}"})
    assert by_header.status_code == 200
    _, write = create_token(member, "script", ApiToken.Scope.WRITE)
    refused = client.get(f"/feeds/daily.rss?token={write}")
    assert refused.status_code == 401
    assert "read-scope" in refused.content.decode()
    member.is_active = False  # a suspended member's token opens nothing
    member.save()
    assert client.get(f"/feeds/daily.rss?token={read}").status_code == 401
