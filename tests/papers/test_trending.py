"""Trending: votes / (hours since listing + 2) ** gravity, up to the newest listing."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.utils import timezone
from django.utils.text import slugify

from broadsheet.papers.models import Listing, Paper

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 6, 23, 12, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def documented_rules(settings):
    # The README's defaults, whatever the environment running the tests says.
    settings.TRENDING_GRAVITY = 1.5
    settings.TRENDING_DAYS = 7


@pytest.fixture(autouse=True)
def frozen_clock():
    with time_machine.travel(NOW, tick=False):
        yield


def listed(
    title: str,
    hours_ago: float,
    votes: int = 0,
    *,
    source_upvotes: int = 0,
    hidden: bool = False,
    paper_hidden: bool = False,
) -> Listing:
    submitted_at = NOW - dt.timedelta(hours=hours_ago)
    paper = Paper.objects.create(
        slug=slugify(title),
        title=title,
        upvote_count=votes,
        source_upvotes=source_upvotes,
        hidden=paper_hidden,
    )
    return Listing.objects.create(
        paper=paper, day=Listing.day_of(submitted_at), submitted_at=submitted_at, hidden=hidden
    )


def trending() -> list[Listing]:
    return list(Listing.objects.trending(timezone.now()).select_related("paper"))


def trending_titles() -> list[str]:
    return [listing.paper.title for listing in trending()]


def test_newer_paper_with_fewer_votes_outranks_older_one_with_more():
    listed("Old and popular", hours_ago=47, votes=100)  # 100 / 49**1.5 = 0.29
    listed("New and modest", hours_ago=2, votes=3)  # 3 / 4**1.5 = 0.375

    assert trending_titles() == ["New and modest", "Old and popular"]


def test_order_and_scores_match_the_documented_formula():
    # Hours chosen so that hours + 2 is a perfect square: the scores are exact fractions.
    listed("B", hours_ago=22, votes=20)  # 20 / 24**1.5 = 0.1701
    listed("D", hours_ago=47, votes=100)  # 100 / 343  = 0.2915
    listed("C", hours_ago=7, votes=9)  # 9 / 27      = 0.3333
    listed("E", hours_ago=0, votes=1)  # 1 / 2**1.5  = 0.3536
    listed("A", hours_ago=2, votes=3)  # 3 / 8       = 0.375

    ranked = trending()

    assert [listing.paper.title for listing in ranked] == ["A", "E", "C", "D", "B"]
    assert [listing.trending_score for listing in ranked] == pytest.approx(
        [3 / 8, 1 / 2**1.5, 9 / 27, 100 / 343, 20 / 24**1.5], rel=1e-6
    )


def test_members_votes_and_source_votes_both_count():
    listing = listed("Mixed", hours_ago=7, votes=4, source_upvotes=5)

    [ranked] = trending()

    assert ranked.pk == listing.pk
    assert ranked.votes == 9
    assert ranked.trending_score == pytest.approx(9 / 27, rel=1e-6)


def test_gravity_setting_controls_the_decay(settings):
    settings.TRENDING_GRAVITY = 0.0  # no decay at all: most votes first
    listed("Old and popular", hours_ago=47, votes=100)
    listed("New and modest", hours_ago=2, votes=3)

    assert trending_titles() == ["Old and popular", "New and modest"]


@pytest.mark.parametrize("gravity, votes", [(1.5, 0), (0.0, 4)])
def test_ties_go_to_the_more_recent_listing(settings, gravity, votes):
    settings.TRENDING_GRAVITY = gravity
    # The newer listing is created first, so a tie broken by id alone would put it last.
    listed("Newer", hours_ago=5, votes=votes)
    listed("Older", hours_ago=10, votes=votes)

    assert trending_titles() == ["Newer", "Older"]


def test_hidden_listing_is_not_trending():
    listed("Shown", hours_ago=5, votes=1)
    listed("Hidden listing", hours_ago=1, votes=50, hidden=True)

    assert trending_titles() == ["Shown"]


def test_hidden_paper_is_not_trending():
    listed("Shown", hours_ago=5, votes=1)
    listed("Hidden paper", hours_ago=1, votes=50, paper_hidden=True)

    assert trending_titles() == ["Shown"]


def test_listings_older_than_the_window_are_left_out():
    listed("Newest", hours_ago=1, votes=1)
    listed("Six days before", hours_ago=1 + 6 * 24, votes=1000)
    listed("Eight days before", hours_ago=1 + 8 * 24, votes=100_000)

    assert trending_titles() == ["Six days before", "Newest"]


def test_window_is_anchored_at_the_newest_listing_on_a_quiet_site():
    month = 30 * 24
    listed("Last listing, a month ago", hours_ago=month, votes=1)
    listed("Six days before it", hours_ago=month + 6 * 24, votes=1)
    listed("Eight days before it", hours_ago=month + 8 * 24, votes=1)

    assert trending_titles() == ["Last listing, a month ago", "Six days before it"]


def test_trending_days_setting_sets_the_window(settings):
    settings.TRENDING_DAYS = 2
    listed("Newest", hours_ago=1, votes=1)
    listed("A day before", hours_ago=25, votes=1)
    listed("Three days before", hours_ago=73, votes=1)

    assert trending_titles() == ["Newest", "A day before"]


def test_nothing_is_trending_when_nothing_is_listed():
    Paper.objects.create(slug="unlisted", title="In the corpus, not on the feed", upvote_count=9)

    assert trending() == []


def test_nothing_is_trending_when_every_listing_is_hidden():
    listed("Hidden listing", hours_ago=1, votes=3, hidden=True)
    listed("Hidden paper", hours_ago=2, votes=3, paper_hidden=True)

    assert trending() == []


# Windows a reader chooses: today, 3 days, week, month ---------------------------------------


def windowed_titles(window: str | None) -> list[str]:
    ranked = Listing.objects.trending(timezone.now(), window=window).select_related("paper")
    return [listing.paper.title for listing in ranked]


@pytest.fixture
def spread():
    listed("Two hours ago", hours_ago=2, votes=1)
    listed("Two days ago", hours_ago=48, votes=1)
    listed("Five days ago", hours_ago=5 * 24, votes=1)
    listed("Twenty days ago", hours_ago=20 * 24, votes=1)
    listed("Forty days ago", hours_ago=40 * 24, votes=1)


@pytest.mark.parametrize(
    "window, titles",
    [
        ("today", ["Two hours ago"]),
        ("3d", ["Two hours ago", "Two days ago"]),
        ("week", ["Two hours ago", "Two days ago", "Five days ago"]),
        ("month", ["Two hours ago", "Two days ago", "Five days ago", "Twenty days ago"]),
        (None, ["Two hours ago", "Two days ago", "Five days ago"]),  # TRENDING_DAYS = 7
    ],
)
def test_window_chooses_how_far_back_trending_looks(spread, window, titles):
    assert windowed_titles(window) == titles


def test_window_is_anchored_at_the_newest_listing_too():
    listed("Newest, ten days ago", hours_ago=10 * 24, votes=1)
    listed("Two days before it", hours_ago=12 * 24, votes=1)

    assert windowed_titles("today") == ["Newest, ten days ago"]
    assert windowed_titles("3d") == ["Newest, ten days ago", "Two days before it"]


def test_unknown_window_is_refused():
    with pytest.raises(ValueError, match="fortnight"):
        Listing.objects.trending(timezone.now(), window="fortnight")


def test_page_trends_over_the_chosen_window_and_marks_the_choice(client, spread):
    response = client.get("/papers/trending?window=3d")

    assert response.status_code == 200
    text = response.content.decode()
    assert text.count('class="card-title"') == 2
    assert '<a href="?window=3d" aria-current="page">3 days</a>' in text
    assert '<a href="?window=today">Today</a>' in text
    assert '<a href="?">Week</a>' in text  # the default window is the bare page
    assert "papers listed in the 3 days up to the latest" in text


def test_page_without_a_window_marks_the_default_one(client, spread):
    text = client.get("/papers/trending").content.decode()

    assert text.count('class="card-title"') == 3
    assert '<a href="?" aria-current="page">Week</a>' in text


def test_page_with_an_unknown_window_is_400_with_the_choices_and_the_default_list(client, spread):
    response = client.get("/papers/trending?window=<b>year</b>")

    assert response.status_code == 400
    text = response.content.decode()
    assert "There is no trending window called" in text
    assert "choose one of today, 3d, week, month" in text
    assert "<b>year</b>" not in text  # escaped
    assert text.count('class="card-title"') == 3
    assert '<a href="?" aria-current="page">Week</a>' in text


def test_pages_of_a_window_keep_the_window(client, settings):
    settings.PAGE_SIZE = 1
    listed("First", hours_ago=1, votes=5)
    listed("Second", hours_ago=2, votes=1)

    text = client.get("/papers/trending?window=today").content.decode()

    assert 'href="?page=2&amp;window=today"' in text
