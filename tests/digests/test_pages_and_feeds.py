"""The member's digest pages (settings, preview, saved searches from the search page), the
manage link, and the private RSS/Atom feeds of a saved search."""

from __future__ import annotations

import feedparser
import pytest
from factories import make_paper, make_user

from broadsheet.digests import tokens
from broadsheet.digests.models import SavedSearch, Subscription
from broadsheet.digests.subscribe import save_search

from .conftest import NOW, indexed, make_subscriber


@pytest.fixture
def papers(db):
    return indexed(
        make_paper("Sparse autoencoders at scale", published_at=NOW, authors=["Ada Lovelace"]),
        make_paper("Protein folding & <script>", published_at=NOW),
    )


def test_save_a_search_from_the_search_page_with_one_click(client, papers):
    ada = make_user("ada")
    client.force_login(ada)
    page = client.get("/search", {"q": "sparse autoencoders", "cat": "cs.LG"})
    assert b"Save this search" in page.content
    response = client.post(
        "/digests/saved-searches", {"q": "sparse autoencoders", "cat": "cs.LG", "author": ""}
    )
    assert response.status_code == 302 and response["Location"] == "/settings/digest"
    saved = SavedSearch.objects.get()
    assert (saved.query, saved.category, saved.subscription.user) == (
        "sparse autoencoders", "cs.LG", ada,
    )  # fmt: skip
    settings_page = client.get("/settings/digest")
    assert b"sparse autoencoders" in settings_page.content
    assert saved.feed_token.encode() in settings_page.content
    assert client.post("/digests/saved-searches", {"q": ""}).status_code == 400


def test_a_member_cannot_delete_anothers_saved_search(client, db):
    ada, bob = make_user("ada"), make_user("bob")
    saved, _ = save_search(ada, "graph networks")
    client.force_login(bob)
    assert client.post(f"/digests/saved-searches/{saved.pk}/delete").status_code == 404
    client.force_login(ada)
    assert client.post(f"/digests/saved-searches/{saved.pk}/delete").status_code == 302
    assert not SavedSearch.objects.exists()


def test_preview_shows_the_next_digest_in_the_browser(client, trending):
    user = make_user("grace")
    make_subscriber(user.email, user=user)
    client.force_login(user)
    page = client.get("/digests/preview")
    assert page.status_code == 200
    assert b"Trending paper 1" in page.content and b"Your next digest" in page.content
    client.force_login(make_user("nosub"))
    assert client.get("/digests/preview").status_code == 404


def test_settings_change_from_the_manage_link_without_logging_in(client, subscriber):
    token = tokens.make_token(subscriber, tokens.MANAGE)
    url = f"/digests/manage/{token}"
    assert client.get(url).status_code == 200
    response = client.post(
        url, {"frequency": "daily", "weekdays": ["5", "6"], "top_n": "3",
              "include_saved_searches": "on"},
    )  # fmt: skip
    assert response.status_code == 302
    sub = Subscription.objects.get()
    assert (sub.weekdays, sub.top_n, sub.include_picks) == ("56", 3, False)
    bad = client.post(url, {"frequency": "daily", "top_n": "-1"})
    assert bad.status_code == 400 and b"at least one day" in bad.content
    assert client.get(f"/digests/manage/{token}x").status_code == 404


def test_saved_search_feeds_are_valid_rss_and_atom_and_private(client, papers):
    ada = make_user("ada")
    saved, _ = save_search(ada, "sparse autoencoders")
    for suffix in ("rss", "atom"):
        response = client.get(f"/feeds/saved/{saved.feed_token}.{suffix}")
        assert response.status_code == 200
        feed = feedparser.parse(response.content)
        assert not feed.bozo, feed.bozo_exception
        assert [e.title for e in feed.entries] == ["Sparse autoencoders at scale"]
    assert client.get("/feeds/saved/" + "x" * 32 + ".rss").status_code == 404
    ada.is_active = False
    ada.save()
    assert client.get(f"/feeds/saved/{saved.feed_token}.rss").status_code == 404
