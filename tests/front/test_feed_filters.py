"""The feed pages' filter (papers/filters.py): categories, has code, include and exclude
keywords, in the URL; their RSS/Atom feeds; a member's default filter."""

from __future__ import annotations

import datetime as dt
import html
import re

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.http import QueryDict
from django.test import Client
from django.test.utils import CaptureQueriesContext
from factories import add_authors, make_comment, make_listing, make_user

from broadsheet.papers.filters import FilterError, PaperFilter
from broadsheet.papers.models import Listing
from broadsheet.search.indexing import index_papers

pytestmark = pytest.mark.django_db

DAY = dt.date(2026, 6, 23)
CARD_TITLE = re.compile(r'<h2 class="card-title"><a href="[^"]*">(.*?)</a></h2>', re.S)


def titles(response, status: int = 200) -> set[str]:
    assert response.status_code == status, response.content[:500]
    return {html.unescape(t) for t in CARD_TITLE.findall(response.content.decode())}


@pytest.fixture
def day(settings) -> dict[str, Listing]:
    """Four papers on DAY, in the search index."""
    settings.PAGE_CACHE_SECONDS = 0
    listings = {
        "parser": make_listing(
            DAY,
            "A neural parser",
            primary_category="cs.CL",
            categories=["cs.CL", "cs.LG"],
            abstract="We parse sentences with a large language model.",
            github_repo="https://github.com/example/parser",
        ),
        "galaxies": make_listing(
            DAY,
            "Counting galaxies",
            primary_category="astro-ph.GA",
            categories=["astro-ph.GA"],
            abstract="A survey of galaxies in the southern sky.",
        ),
        "bayes": make_listing(
            DAY,
            "Bayesian language priors",
            primary_category="stat.ML",
            categories=["stat.ML", "cs.CL"],
            abstract="Priors for language models, with a benchmark survey.",
            github_repo="https://github.com/example/bayes",
        ),
        "robots": make_listing(
            DAY,
            "Robots that walk",
            primary_category="cs.RO",
            categories=["cs.RO"],
            abstract="Legged locomotion learned in simulation.",
        ),
    }
    index_papers([item.paper_id for item in listings.values()])
    return listings


# The value ------------------------------------------------------------------------------------


def test_a_filter_reads_and_writes_its_url_parameters():
    query = QueryDict(
        "cat=cs.CL,stat&cat=hep-th&code=1&include=diffusion,%20%22language%20model%22&exclude=survey"
    )
    f = PaperFilter.from_query(query)
    assert f == PaperFilter(
        categories=("cs.CL", "stat", "hep-th"),
        has_code=True,
        include=("diffusion", "language model"),
        exclude=("survey",),
    )
    assert PaperFilter.from_string(f.to_string()) == f
    assert (
        f.describe()
        == "cs.CL or stat or hep-th · with code · about diffusion or language model · not survey"
    )
    assert not PaperFilter.from_query(QueryDict("cat=&code=0&include=,"))
    assert PaperFilter().to_string() == ""


@pytest.mark.parametrize(
    "query, message",
    [
        ("cat=cs.CL%27%20OR%201", "is not an arXiv category"),
        ("cat=" + ",".join(f"cs.X{i}" for i in range(11)), "At most 10 categories"),
        ("code=maybe", "`code` is 1"),
        ("include=" + "x" * 101, "over 100 characters"),
        ("exclude=" + ",".join(f"w{i}" for i in range(11)), "At most 10 keywords in `exclude`"),
        ("include=%E2%9C%A8", "has no letter or digit"),
    ],
)
def test_bad_values_are_refused_with_a_message(query, message):
    with pytest.raises(FilterError, match=message):
        PaperFilter.from_query(QueryDict(query))


# The pages ------------------------------------------------------------------------------------


def test_each_kind_of_filter_narrows_the_day(client, day):
    page = f"/papers/date/{DAY}"
    assert titles(client.get(page)) == {
        "A neural parser",
        "Counting galaxies",
        "Bayesian language priors",
        "Robots that walk",
    }
    # An archive matches its categories; a paper matches any of the categories given.
    assert titles(client.get(page, {"cat": "cs"})) == {
        "A neural parser",
        "Bayesian language priors",
        "Robots that walk",
    }
    assert titles(client.get(page, {"cat": ["astro-ph.GA", "cs.RO"]})) == {
        "Counting galaxies",
        "Robots that walk",
    }
    assert titles(client.get(page, {"code": "1"})) == {
        "A neural parser",
        "Bayesian language priors",
    }
    # Keywords as search matches them: any of the included, none of the excluded.
    assert titles(client.get(page, {"include": "language"})) == {
        "A neural parser",
        "Bayesian language priors",
    }
    assert titles(client.get(page, {"include": "galaxies, locomotion"})) == {
        "Counting galaxies",
        "Robots that walk",
    }
    assert titles(client.get(page, {"include": "language", "exclude": "survey"})) == {
        "A neural parser"
    }
    assert titles(client.get(page, {"exclude": "survey"})) == {
        "A neural parser",
        "Robots that walk",
    }
    # A phrase is a phrase: "language model" is in one abstract, in order.
    assert titles(client.get(page, {"include": '"large language model"'})) == {"A neural parser"}
    # All together.
    both = {"cat": "cs.CL", "code": "1", "exclude": "benchmark"}
    assert titles(client.get(page, both)) == {"A neural parser"}
    assert "No papers match the filter" in client.get(page, {"cat": "q-bio"}).content.decode()


@pytest.mark.parametrize(
    "url",
    [
        "/",
        f"/papers/date/{DAY}",
        "/papers/week/2026-W26",
        "/papers/month/2026-06",
        "/papers/trending",
    ],
)
def test_every_feed_page_takes_the_filter_and_refuses_a_bad_one(client, day, url):
    assert titles(client.get(url, {"cat": "astro-ph", "window": "month"})) == {"Counting galaxies"}
    response = client.get(url, {"cat": "cs.CL'--"})
    text = response.content.decode()
    assert response.status_code == 400
    assert "is not an arXiv category" in html.unescape(text)
    assert 'value="cs.CL&#x27;--"' in text  # the form shows what was typed, to correct it


def test_links_on_a_filtered_page_keep_the_filter(client, settings, day):
    settings.PAGE_SIZE = 1
    make_listing(DAY - dt.timedelta(days=1), "Yesterday", primary_category="cs.CL")
    text = client.get(f"/papers/date/{DAY}", {"cat": "cs"}).content.decode()
    assert 'href="?page=2&amp;cat=cs"' in text
    assert 'href="/papers/date/2026-06-22?cat=cs" rel="prev"' in text
    assert 'href="/papers/week/2026-W26?cat=cs"' in text
    trending = client.get("/papers/trending", {"window": "month", "code": "1"}).content.decode()
    assert 'href="?window=3d&amp;code=1"' in trending
    assert 'href="?code=1"' in trending  # the default window
    assert 'href="?page=2&amp;window=month&amp;code=1"' in trending
    assert 'name="window" value="month"' in trending  # the form keeps the window


def test_a_filtered_page_makes_the_same_number_of_queries_for_3_and_30_papers(client, settings):
    settings.PAGE_CACHE_SECONDS = 0
    url = f"/papers/date/{DAY}?cat=cs&code=1&include=things&exclude=nothing"
    commenter = make_user()

    def add(n: int) -> None:
        for i in range(n):
            listing = make_listing(
                DAY,
                f"Paper {n}-{i}",
                primary_category="cs.LG",
                github_repo="https://github.com/a/b",
            )
            add_authors(listing.paper, ["Ada", "Grace"])
            make_comment(listing.paper, commenter)
        index_papers(Listing.objects.values_list("paper_id", flat=True))

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url)
        assert response.status_code == 200
        return len(queries)

    add(3)
    assert len(titles(client.get(url))) == 3
    few = count()
    add(27)
    assert len(titles(client.get(url))) == 30
    assert count() == few


# Feeds ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["daily.rss", "daily.atom", "trending.rss", "trending.atom"])
def test_the_feed_pages_feeds_take_the_same_filter(client, day, name):
    response = client.get(f"/feeds/{name}", {"include": "language", "exclude": "survey"})
    assert response.status_code == 200
    text = response.content.decode()
    assert "A neural parser" in text
    assert "Bayesian language priors" not in text
    assert "Counting galaxies" not in text
    assert "about language · not survey" in text  # the title says it is filtered
    bad = client.get(f"/feeds/{name}", {"code": "yes please"})
    assert bad.status_code == 400
    assert "`code` is 1" in bad.content.decode()


# A member's default ---------------------------------------------------------------------------


def test_a_member_saves_a_default_that_applies_when_the_url_has_no_filter(member, day):
    client = Client(enforce_csrf_checks=True)
    client.force_login(member)
    page = f"/papers/date/{DAY}"
    form = client.get(page, {"cat": "cs.CL", "code": "1"}).content.decode()
    assert "Make this my default" in form
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form)[1]

    # Without the CSRF token the POST is refused, and nothing is stored.
    assert client.post("/papers/filter/default", {"cat": "cs.CL"}).status_code == 403
    response = client.post(
        "/papers/filter/default",
        {"cat": "cs.CL", "code": "1", "next": page, "csrfmiddlewaretoken": token},
    )
    assert response.status_code == 302 and response["Location"] == page
    member.refresh_from_db()
    assert member.feed_filter == "cat=cs.CL&code=1"

    # No filter in the URL: the default, said so, with a way to see everything.
    shown = client.get(page)
    assert titles(shown) == {"A neural parser", "Bayesian language priors"}
    text = shown.content.decode()
    assert "Filtered by your default: cs.CL · with code." in text
    assert f'href="{page}?all=1">Show all</a>' in text
    assert len(titles(client.get(page, {"all": "1"}))) == 4
    # A filter in the URL wins over the default.
    assert titles(client.get(page, {"cat": "astro-ph"})) == {"Counting galaxies"}
    # Other readers are not affected.
    assert len(titles(Client().get(page))) == 4

    # A bad value is a 400, and the stored default is kept.
    bad = client.post("/papers/filter/default", {"cat": "no such!", "csrfmiddlewaretoken": token})
    assert bad.status_code == 400 and "not an arXiv category" in bad.content.decode()
    member.refresh_from_db()
    assert member.feed_filter == "cat=cs.CL&code=1"

    # Cleared: every paper again.
    client.post(
        "/papers/filter/default", {"clear": "1", "next": page, "csrfmiddlewaretoken": token}
    )
    member.refresh_from_db()
    assert member.feed_filter == ""
    assert len(titles(client.get(page))) == 4


def test_saving_a_default_needs_a_member(client):
    response = client.post("/papers/filter/default", {"cat": "cs.CL"})
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert client.get("/papers/filter/default").status_code == 405
    assert not get_user_model().objects.exclude(feed_filter="").exists()
