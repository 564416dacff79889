"""/stats: listings and votes per day as SVG bars, top categories, most active submitters."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from factories import make_listing, make_user
from factories import upvote as cast_vote

from broadsheet.papers.models import Upvote
from broadsheet.papers.stats import DAYS, site_stats

pytestmark = pytest.mark.django_db

DAY = dt.date(2026, 6, 23)
NOW = dt.datetime(2026, 6, 23, 18, tzinfo=dt.UTC)


def vote_at(user, paper, when: dt.datetime) -> None:
    cast_vote(user, paper)
    Upvote.objects.filter(user=user, paper=paper).update(created=when)


@pytest.fixture
def busy(db):
    ada, grace = make_user("ada"), make_user("grace")
    voters = [make_user() for _ in range(3)]
    for i in range(3):
        make_listing(DAY, f"Today {i}", submitted_by=ada, primary_category="cs.LG")
    make_listing(DAY, "Today by grace", submitted_by=grace, primary_category="cs.CL")
    yesterday = make_listing(
        DAY - dt.timedelta(days=1), "Yesterday", submitted_by=grace, primary_category="cs.LG"
    )
    make_listing(DAY, "Hidden", submitted_by=grace, primary_category="math.AG", listing_hidden=True)
    make_listing(DAY - dt.timedelta(days=DAYS + 5), "Long ago", primary_category="astro-ph")
    for voter in voters:
        vote_at(voter, yesterday.paper, NOW - dt.timedelta(days=1))
    vote_at(voters[0], make_listing(DAY, "Voted today").paper, NOW)
    return ada, grace


@time_machine.travel(NOW, tick=False)
def test_site_stats_counts_per_day_and_ranks_categories_and_submitters(busy):
    stats = site_stats()

    assert stats.last == DAY and stats.first == DAY - dt.timedelta(days=DAYS - 1)
    assert len(stats.days) == len(stats.listings) == len(stats.votes) == DAYS
    assert stats.listings[-1] == 5 and stats.listings[-2] == 1  # the hidden listing not counted
    assert stats.votes[-1] == 1 and stats.votes[-2] == 3
    assert stats.listings_total == 6 and stats.votes_total == 4
    assert stats.top_categories == [("cs.LG", 4), ("cs.CL", 1)]
    assert stats.top_submitters == [("ada", 3), ("grace", 2)]


@time_machine.travel(NOW, tick=False)
def test_stats_page_draws_one_bar_per_day_in_svg(client, busy):
    response = client.get("/stats")

    assert response.status_code == 200
    text = response.content.decode()
    assert text.count("<svg") == 2
    assert len(re.findall(r'<rect [^>]*class="bar"', text)) == 2 * DAYS
    assert "<title>23 Jun 2026: 5 papers</title>" in text
    assert "<title>22 Jun 2026: 3 votes</title>" in text
    assert "6 papers listed, 4 member votes" in text
    assert 'href="/u/ada">ada</a>' in text and "cs.LG" in text
    assert "<script" not in text.split("<main")[1]


def test_stats_of_an_empty_site(client):
    response = client.get("/stats")

    assert response.status_code == 200
    assert "0 papers listed, 0 member votes" in response.content.decode()


def test_votes_are_dated_in_the_site_time_zone(settings, db):
    settings.TIME_ZONE = "America/New_York"
    paper = make_listing(DAY, "Late vote").paper
    # 02:00 UTC on the 24th is still the 23rd in New York.
    vote_at(make_user(), paper, dt.datetime(2026, 6, 24, 2, tzinfo=dt.UTC))

    with time_machine.travel(dt.datetime(2026, 6, 24, 3, tzinfo=dt.UTC), tick=False):
        stats = site_stats()

    assert stats.last == DAY and stats.votes[-1] == 1


def test_stats_queries_do_not_grow_with_the_data(client, db):
    def add(n: int) -> None:
        user = make_user()
        for i in range(n):
            listing = make_listing(
                DAY - dt.timedelta(days=i % 10), submitted_by=user, primary_category=f"cs.{i % 4}"
            )
            vote_at(make_user(), listing.paper, NOW - dt.timedelta(days=i % 10))

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get("/stats").status_code == 200
        return len(queries)

    with time_machine.travel(NOW, tick=False):
        add(3)
        few = count()
        add(40)
        many = count()

    assert few == many <= 8
