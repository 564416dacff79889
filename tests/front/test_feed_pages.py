"""The feed pages: the home page (latest day), a day, an ISO week, a month, trending."""

from __future__ import annotations

import datetime as dt
import html
import io
import re

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils.html import strip_tags
from factories import add_authors, make_comment, make_listing, make_user, upvote

from broadsheet.ops.sample import SAMPLE_DAY

pytestmark = pytest.mark.django_db

DAY = dt.date(2026, 6, 23)  # a Tuesday, in ISO week 2026-W26
CARD_TITLE = re.compile(r'<h2 class="card-title"><a href="[^"]*">(.*?)</a></h2>', re.S)


def card_titles(response) -> list[str]:
    assert response.status_code == 200
    return [html.unescape(t) for t in CARD_TITLE.findall(response.content.decode())]


def card_html(response, title: str) -> str:
    """The HTML of the one card whose title is `title`."""
    text = response.content.decode()
    cards = [c for c in text.split('<article class="card"')[1:] if html.escape(title) in c]
    assert len(cards) == 1, f"{len(cards)} cards titled {title!r}"
    return cards[0].split("</article>")[0]


def nav_link(response, rel: str) -> str | None:
    m = re.search(rf'<a href="([^"]*)" rel="{rel}"', response.content.decode())
    return m and m[1]


# The home page and a day -------------------------------------------------------------------


def test_home_shows_the_latest_day_that_has_listings(client):
    make_listing(DAY - dt.timedelta(days=1), "Yesterday's paper")
    make_listing(DAY, "Today's paper")

    response = client.get("/")

    assert card_titles(response) == ["Today's paper"]
    assert "Tuesday, 23 June 2026" in response.content.decode()


def test_home_skips_a_later_day_whose_listings_are_all_hidden(client):
    make_listing(DAY, "Visible paper")
    make_listing(DAY + dt.timedelta(days=1), "Hidden listing", listing_hidden=True)
    make_listing(DAY + dt.timedelta(days=2), "Hidden paper", hidden=True)

    assert card_titles(client.get("/")) == ["Visible paper"]


def test_home_shows_today_when_a_record_is_listed_for_tomorrow(client):
    make_listing(DAY, "Today's paper")
    make_listing(DAY + dt.timedelta(days=1), "Tomorrow's paper")

    with time_machine.travel(dt.datetime(2026, 6, 23, 12, tzinfo=dt.UTC), tick=False):
        assert card_titles(client.get("/")) == ["Today's paper"]


def test_home_with_nothing_listed_says_so(client):
    response = client.get("/")

    assert response.status_code == 200
    assert "No papers yet" in response.content.decode()


def test_day_is_ordered_by_member_votes_plus_source_votes(client):
    make_listing(DAY, "Five source votes", votes=5)
    two_plus_four = make_listing(DAY, "Two source votes and four members", votes=2)
    make_listing(DAY, "No votes")
    for _ in range(4):
        upvote(make_user(), two_plus_four.paper)

    titles = card_titles(client.get("/papers/date/2026-06-23"))

    assert titles == ["Two source votes and four members", "Five source votes", "No votes"]


def test_equal_votes_put_the_most_recently_listed_first(client):
    at = dt.datetime(2026, 6, 23, 9, 0, tzinfo=dt.UTC)
    make_listing(DAY, "Listed at nine", votes=3, submitted_at=at)
    make_listing(DAY, "Listed at ten", votes=3, submitted_at=at + dt.timedelta(hours=1))

    assert card_titles(client.get("/")) == ["Listed at ten", "Listed at nine"]


def test_day_page_shows_only_that_days_papers(client):
    make_listing(DAY - dt.timedelta(days=1), "Monday's paper")
    make_listing(DAY, "Tuesday's paper")
    make_listing(DAY + dt.timedelta(days=1), "Wednesday's paper")

    assert card_titles(client.get("/papers/date/2026-06-22")) == ["Monday's paper"]


def test_a_single_day_has_no_previous_or_next_link(client):
    make_listing(DAY, "Only paper")

    response = client.get("/")

    assert nav_link(response, "prev") is None
    assert nav_link(response, "next") is None


def test_day_links_to_the_nearest_days_that_have_visible_listings(client):
    make_listing(dt.date(2026, 6, 19), "Friday")  # then a weekend with nothing
    make_listing(dt.date(2026, 6, 22), "Monday")
    make_listing(dt.date(2026, 6, 23), "Tuesday")
    make_listing(dt.date(2026, 6, 24), "Hidden Wednesday", listing_hidden=True)

    monday = client.get("/papers/date/2026-06-22")
    tuesday = client.get("/papers/date/2026-06-23")

    assert nav_link(monday, "prev") == "/papers/date/2026-06-19"
    assert nav_link(monday, "next") == "/papers/date/2026-06-23"
    assert nav_link(tuesday, "prev") == "/papers/date/2026-06-22"
    assert nav_link(tuesday, "next") is None
    assert nav_link(client.get("/"), "prev") == "/papers/date/2026-06-22"


def test_day_links_to_its_week_and_month(client):
    make_listing(DAY, "Paper")

    text = client.get("/").content.decode()

    assert 'href="/papers/week/2026-W26"' in text
    assert 'href="/papers/month/2026-06"' in text


def test_a_valid_day_without_listings_is_an_empty_page_with_links_to_its_neighbours(client):
    make_listing(dt.date(2026, 6, 19), "Friday")
    make_listing(dt.date(2026, 6, 22), "Monday")

    response = client.get("/papers/date/2026-06-20")

    assert card_titles(response) == []
    assert "No papers were listed here" in response.content.decode()
    assert nav_link(response, "prev") == "/papers/date/2026-06-19"
    assert nav_link(response, "next") == "/papers/date/2026-06-22"


# Week and month ----------------------------------------------------------------------------


def test_week_page_lists_monday_to_sunday_of_the_iso_week(client):
    make_listing(dt.date(2026, 6, 21), "Sunday before", votes=9)
    make_listing(dt.date(2026, 6, 22), "Monday", votes=1)
    make_listing(dt.date(2026, 6, 28), "Sunday", votes=2)
    make_listing(dt.date(2026, 6, 29), "Monday after", votes=9)

    response = client.get("/papers/week/2026-W26")

    assert card_titles(response) == ["Sunday", "Monday"]
    text = response.content.decode()
    assert "Week 26, 2026" in text
    assert nav_link(response, "prev") == "/papers/week/2026-W25"
    assert nav_link(response, "next") == "/papers/week/2026-W27"


def test_week_53_of_2026_runs_into_january_2027(client):
    make_listing(dt.date(2026, 12, 27), "Sunday of week 52")
    make_listing(dt.date(2026, 12, 28), "Monday of week 53", votes=1)
    make_listing(dt.date(2027, 1, 3), "Sunday of week 53", votes=2)
    make_listing(dt.date(2027, 1, 4), "Monday of 2027-W01")

    response = client.get("/papers/week/2026-W53")

    assert card_titles(response) == ["Sunday of week 53", "Monday of week 53"]
    assert "28 Dec – 3 Jan 2027" in response.content.decode()
    assert nav_link(response, "prev") == "/papers/week/2026-W52"
    assert nav_link(response, "next") == "/papers/week/2027-W01"


def test_week_1_of_2026_starts_in_december_2025(client):
    make_listing(dt.date(2025, 12, 28), "Last Sunday of 2025-W52")
    make_listing(dt.date(2025, 12, 29), "Monday 29 December 2025")

    response = client.get("/papers/week/2026-W01")

    assert card_titles(response) == ["Monday 29 December 2025"]
    assert nav_link(response, "prev") == "/papers/week/2025-W52"


def test_day_page_at_new_year_links_to_the_iso_week_it_belongs_to(client):
    make_listing(dt.date(2027, 1, 1), "New year's day")

    text = client.get("/papers/date/2027-01-01").content.decode()

    assert 'href="/papers/week/2026-W53"' in text
    assert 'href="/papers/month/2027-01"' in text


def test_month_page_lists_the_first_to_the_last_day_of_the_month(client):
    make_listing(dt.date(2026, 5, 31), "May", votes=9)
    make_listing(dt.date(2026, 6, 1), "June first", votes=2)
    make_listing(dt.date(2026, 6, 30), "June last", votes=1)
    make_listing(dt.date(2026, 7, 1), "July", votes=9)

    response = client.get("/papers/month/2026-06")

    assert card_titles(response) == ["June first", "June last"]
    assert "June 2026" in response.content.decode()
    assert nav_link(response, "prev") == "/papers/month/2026-05"
    assert nav_link(response, "next") == "/papers/month/2026-07"


def test_december_links_to_january_of_the_next_year(client):
    make_listing(dt.date(2026, 12, 31), "New year's eve")

    response = client.get("/papers/month/2026-12")

    assert card_titles(response) == ["New year's eve"]
    assert nav_link(response, "next") == "/papers/month/2027-01"


def test_week_and_month_cards_say_which_day_a_paper_was_listed(client):
    make_listing(dt.date(2026, 6, 24), "Wednesday")

    for url in ["/papers/week/2026-W26", "/papers/month/2026-06"]:
        card = card_html(client.get(url), "Wednesday")
        assert 'href="/papers/date/2026-06-24"' in card


# Trending ----------------------------------------------------------------------------------


@time_machine.travel(dt.datetime(2026, 6, 23, 12, 0, tzinfo=dt.UTC), tick=False)
def test_trending_ranks_recent_votes_above_older_ones_and_drops_old_listings(client):
    now = dt.datetime(2026, 6, 23, 12, 0, tzinfo=dt.UTC)
    make_listing(DAY, "Fresh, 10 votes", votes=10, submitted_at=now - dt.timedelta(hours=1))
    make_listing(
        DAY - dt.timedelta(days=2),
        "Older, 12 votes",
        votes=12,
        submitted_at=now - dt.timedelta(days=2),
    )
    make_listing(
        DAY - dt.timedelta(days=30),
        "A month old, 500 votes",
        votes=500,
        submitted_at=now - dt.timedelta(days=30),
    )
    make_listing(
        DAY, "Hidden, 900 votes", votes=900, hidden=True, submitted_at=now - dt.timedelta(hours=1)
    )

    response = client.get("/papers/trending")

    assert card_titles(response) == ["Fresh, 10 votes", "Older, 12 votes"]
    assert "Trending" in response.content.decode()


def test_trending_with_nothing_listed_is_an_empty_page(client):
    response = client.get("/papers/trending")

    assert card_titles(response) == []
    assert "No papers have been listed recently" in response.content.decode()


# Cards -------------------------------------------------------------------------------------


def test_card_shows_the_first_four_authors_and_counts_the_rest(client):
    listing = make_listing(DAY, "Six authors")
    add_authors(listing.paper, ["Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald"])

    card = card_html(client.get("/"), "Six authors")

    assert "Ada, Grace, Alan, Edsger" in strip_tags(card)
    assert "+2" in card
    assert "Barbara" not in card and "Donald" not in card


def test_card_with_four_authors_has_no_plus(client):
    listing = make_listing(DAY, "Four authors")
    add_authors(listing.paper, ["Ada", "Grace", "Alan", "Edsger"])

    card = card_html(client.get("/"), "Four authors")

    assert "Ada, Grace, Alan, Edsger" in strip_tags(card)
    assert 'class="more"' not in card


def test_sample_cards_give_the_number_of_authors_when_names_are_unknown(client):
    call_command("load-sample", "--day", "2026-06-23", "--no-arxiv", stdout=io.StringIO())

    response = client.get("/")

    assert response.context["day"] == SAMPLE_DAY
    assert len(card_titles(response)) == 34
    card = card_html(
        response, "Ultra Flash: Scaling Real-Time Streaming Video Generation to High Resolutions"
    )
    assert "28 authors" in card
    assert 'href="https://xin1u.github.io/UltraFlash/"' in card


def test_card_shows_votes_comments_submitter_and_links(client):
    grace = make_user("grace")
    listing = make_listing(
        DAY,
        "Everything on a card",
        votes=40,
        submitted_by=grace,
        arxiv_id="2606.01234",
        abs_url="https://arxiv.org/abs/2606.01234",
        pdf_url="https://arxiv.org/pdf/2606.01234",
        project_url="https://example.org/project",
        github_repo="https://github.com/example/code",
        github_stars=321,
    )
    paper = listing.paper
    upvote(make_user(), paper)
    make_comment(paper, grace, "first")
    make_comment(paper, grace, "second")
    make_comment(paper, grace, "rude", hidden=True)

    card = card_html(client.get("/"), "Everything on a card")

    assert '<span class="vote-count">41</span>' in card
    assert "2 comments" in card
    assert re.search(r'<a class="submitter" href="/u/grace"[^>]*><svg class="avatar"', card)
    assert "submitted by grace" in " ".join(strip_tags(card).split())
    assert 'href="/papers/2606.01234"' in card
    for label, url in [
        ("arXiv", "https://arxiv.org/abs/2606.01234"),
        ("PDF", "https://arxiv.org/pdf/2606.01234"),
        ("Code", "https://github.com/example/code"),
        ("Project", "https://example.org/project"),
    ]:
        assert re.search(rf'<a href="{url}" class="link link-\w+" rel="noopener">{label}</a>', card)
    assert "★ 321" in card


def test_card_counts_one_comment_in_the_singular(client):
    listing = make_listing(DAY, "One comment")
    make_comment(listing.paper, make_user())

    assert "1 comment<" in card_html(client.get("/"), "One comment")


def test_card_without_links_or_submitter_names_its_source(client):
    make_listing(DAY, "Bare")

    card = card_html(client.get("/"), "Bare")

    assert 'class="links"' not in card
    assert "0 comments" in card
    assert "imported" in card


def test_hidden_papers_and_listings_are_on_no_feed_page(client):
    now = dt.datetime(2026, 6, 23, 12, 0, tzinfo=dt.UTC)
    make_listing(DAY, "Shown", submitted_at=now)
    make_listing(DAY, "Paper hidden", hidden=True, votes=5, submitted_at=now)
    make_listing(DAY, "Listing hidden", listing_hidden=True, votes=5, submitted_at=now)

    with time_machine.travel(now + dt.timedelta(hours=1), tick=False):
        for url in [
            "/",
            "/papers/date/2026-06-23",
            "/papers/week/2026-W26",
            "/papers/month/2026-06",
            "/papers/trending",
        ]:
            response = client.get(url)
            assert card_titles(response) == ["Shown"], url
            assert "1 paper<" in response.content.decode(), url


def test_member_sees_which_papers_they_upvoted(client_member, member):
    voted = make_listing(DAY, "Voted for")
    make_listing(DAY, "Not voted for")
    upvote(member, voted.paper)

    response = client_member.get("/")

    assert 'aria-pressed="true"' in card_html(response, "Voted for")
    assert 'aria-pressed="false"' in card_html(response, "Not voted for")


def test_anonymous_vote_button_goes_to_login_and_back(client):
    make_listing(DAY, "Paper")

    card = card_html(client.get("/papers/date/2026-06-23"), "Paper")

    assert 'href="/accounts/login/?next=/papers/date/2026-06-23"' in card


# Pagination --------------------------------------------------------------------------------


def test_pages_hold_page_size_papers_and_ranks_continue(client, settings):
    settings.PAGE_SIZE = 2
    for votes in range(5, 0, -1):
        make_listing(DAY, f"{votes} votes", votes=votes)

    first = client.get("/")
    second = client.get("/?page=2")
    last = client.get("/?page=3")

    assert card_titles(first) == ["5 votes", "4 votes"]
    assert card_titles(second) == ["3 votes", "2 votes"]
    assert card_titles(last) == ["1 votes"]
    assert "5 papers" in first.content.decode()
    assert 'href="?page=2"' in first.content.decode()
    assert "Page 2 of 3" in second.content.decode()
    assert '<div class="rank" aria-hidden="true">3</div>' in second.content.decode()
    assert 'href="?page=' not in last.content.decode().split("Page 3 of 3")[1]


def test_one_page_of_papers_has_no_pagination(client, settings):
    settings.PAGE_SIZE = 3
    for _ in range(3):
        make_listing(DAY)

    assert 'class="pagination"' not in client.get("/").content.decode()


# SQL queries -------------------------------------------------------------------------------


def make_busy_day(n: int) -> None:
    """`n` papers on DAY, each with members, six authors, comments (one hidden) and votes."""
    submitter, commenter = make_user(), make_user()
    for i in range(n):
        listing = make_listing(DAY, f"Paper {n}-{i}", votes=i, submitted_by=submitter)
        add_authors(listing.paper, [f"Author {j}" for j in range(6)])
        make_comment(listing.paper, commenter, "one")
        make_comment(listing.paper, commenter, "two")
        make_comment(listing.paper, commenter, "hidden", hidden=True)
    make_listing(DAY - dt.timedelta(days=1), "Yesterday")


def count_queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


@pytest.mark.parametrize("url", ["/", "/papers/date/2026-06-23"])
@pytest.mark.parametrize("logged_in", [False, True], ids=["anonymous", "member"])
def test_daily_page_makes_the_same_number_of_queries_for_3_and_30_papers(
    client, member, settings, url, logged_in
):
    settings.PAGE_CACHE_SECONDS = 0  # count the rendering's queries, every time
    if logged_in:
        client.force_login(member)
    make_busy_day(3)
    few = count_queries(client, url)

    make_busy_day(27)
    response = client.get(url)
    assert len(card_titles(response)) == 30
    assert "2 comments" in response.content.decode()
    many = count_queries(client, url)

    assert few == many
    assert many <= 10, f"{many} queries"
