"""RSS 2.0 and Atom feeds: valid documents, stable ids, the right items, cache headers."""

from __future__ import annotations

import datetime as dt

import feedparser
import pytest
from factories import list_paper, make_listing, make_paper

DAY = dt.date(2026, 6, 23)
UTC = dt.UTC


def parse(response):
    assert response.status_code == 200, response.content[:300]
    feed = feedparser.parse(response.content)
    assert feed.bozo == 0, feed.get("bozo_exception")
    return feed


@pytest.fixture
def listed(db):
    make_listing(dt.date(2026, 6, 22), "Yesterday's paper", votes=100)
    hot = make_listing(
        DAY,
        "Hot & <new> paper on $x_1$",
        votes=9,
        arxiv_id="2606.00001",
        authors=["Ada Lovelace", "Alan Turing"],
        categories=["cs.CL", "cs.LG"],
        primary_category="cs.CL",
    )
    cool = make_listing(
        DAY, "Cool paper", votes=1, arxiv_id="hep-th/9901001", categories=["hep-th"]
    )
    return hot, cool


@pytest.mark.parametrize("kind", ["rss", "atom"])
def test_daily_feed_is_the_latest_day_most_voted_first(client, listed, kind):
    feed = parse(client.get(f"/feeds/daily.{kind}"))
    assert feed.version == ("rss20" if kind == "rss" else "atom10")
    assert [e.title for e in feed.entries] == ["Hot & <new> paper on $x_1$", "Cool paper"]
    hot = feed.entries[0]
    assert hot.link == "http://testserver/papers/2606.00001"
    assert hot.id == "http://testserver/papers/2606.00001"
    assert feed.entries[1].id == "http://testserver/papers/hep-th/9901001"
    assert {t.term for t in hot.tags} == {"cs.CL", "cs.LG"}
    assert "Ada Lovelace" in hot.author
    assert hot.published_parsed[:3] == (2026, 6, 23)
    assert "23 June 2026" in feed.feed.title


def test_item_ids_do_not_change_between_feeds(client, listed):
    daily = parse(client.get("/feeds/daily.atom"))
    category = parse(client.get("/feeds/category/cs.CL.atom"))
    assert daily.entries[0].id == category.entries[0].id


def test_trending_feed(client, listed):
    feed = parse(client.get("/feeds/trending.rss"))
    assert {e.title for e in feed.entries} >= {"Hot & <new> paper on $x_1$", "Cool paper"}
    assert parse(client.get("/feeds/trending.atom")).feed.title.endswith("trending papers")


@pytest.mark.parametrize(
    ("category", "titles"),
    [
        ("cs.CL", ["Hot & <new> paper on $x_1$"]),
        ("cs", ["Hot & <new> paper on $x_1$"]),  # a whole archive
        ("hep-th", ["Cool paper"]),
        ("cs.C", []),  # no partial category names
        ("math", []),
    ],
)
def test_category_feed(client, listed, category, titles):
    feed = parse(client.get(f"/feeds/category/{category}.rss"))
    assert [e.title for e in feed.entries] == titles


def test_search_feed(client, listed):
    from broadsheet.papers.models import Paper
    from broadsheet.search.indexing import index_papers

    make_paper("Cool but never listed", published_at=dt.datetime(2026, 1, 1, tzinfo=UTC))
    index_papers(Paper.objects.values_list("pk", flat=True))
    feed = parse(client.get("/feeds/search.atom?q=cool"))
    assert {e.title for e in feed.entries} == {"Cool paper", "Cool but never listed"}
    assert "cool" in feed.feed.title
    assert parse(client.get("/feeds/search.rss?q=nothing+matches")).entries == []
    assert client.get("/feeds/search.rss").status_code == 400


def test_empty_site_has_valid_empty_feeds(client, db):
    for url in ["/feeds/daily.rss", "/feeds/daily.atom", "/feeds/trending.atom"]:
        assert parse(client.get(url)).entries == []


def test_hidden_papers_and_listings_are_left_out(client, listed):
    hot, cool = listed
    hot.paper.hidden = True
    hot.paper.save()
    cool.hidden = True
    cool.save()
    feed = parse(client.get("/feeds/daily.rss"))
    assert [e.title for e in feed.entries] == ["Yesterday's paper"]


def test_cache_headers_and_conditional_get(client, listed):
    response = client.get("/feeds/daily.rss")
    assert "max-age=300" in response["Cache-Control"]
    assert "public" in response["Cache-Control"]
    assert response["Last-Modified"].endswith("GMT")
    etag = response["ETag"]
    again = client.get("/feeds/daily.rss", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    # A vote reorders the feed without changing any date: the ETag changes with it.
    _, cool = listed
    cool.paper.source_upvotes = 50
    cool.paper.save()
    changed = client.get("/feeds/daily.rss", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed["ETag"] != etag


def test_feed_max_age_is_a_setting(client, listed, settings):
    settings.FEED_MAX_AGE = 60
    assert "max-age=60" in client.get("/feeds/trending.atom")["Cache-Control"]


def test_unknown_category_syntax_is_a_404(client, db):
    assert client.get("/feeds/category/cs%20CL.rss").status_code == 404
    assert client.get("/feeds/category/.rss").status_code == 404


def test_paper_links_survive_odd_characters(client, db):
    paper = make_paper("Title with \x0b control char and emoji 🚀")
    list_paper(paper, DAY)
    feed = parse(client.get("/feeds/daily.atom"))
    assert "🚀" in feed.entries[0].title
