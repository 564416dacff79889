"""Upvotes: one per member and paper, the count kept in step with the rows, a rate limit."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from functools import partial

import pytest
import time_machine
from django.db import connection
from factories import make_user

from broadsheet.papers.models import Paper, Upvote
from broadsheet.papers.votes import RateLimited, add_upvote, remove_upvote, toggle_upvote

pytestmark = pytest.mark.django_db

NOON = dt.datetime(2026, 6, 23, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def paper(db) -> Paper:
    # Votes brought from the paper's source, so `votes` is visibly more than our members' count.
    return Paper.objects.create(
        slug="attention", title="Attention Is All You Need", source_upvotes=5
    )


@pytest.fixture
def grace(db):
    return make_user("grace", password="another-horse-battery")


def assert_count_in_step(paper: Paper, expected: int) -> None:
    paper.refresh_from_db()
    assert Upvote.objects.filter(paper=paper).count() == expected
    assert paper.upvote_count == expected
    assert paper.votes == expected + paper.source_upvotes


# Adding and withdrawing ----------------------------------------------------------------------


def test_upvote_adds_one_row_and_one_vote(member, paper):
    result = add_upvote(member, paper)

    assert result.upvoted is True
    assert result.votes == 6
    assert Upvote.objects.filter(user=member, paper=paper).exists()
    assert_count_in_step(paper, 1)


def test_second_upvote_by_same_user_is_ignored(member, paper):
    add_upvote(member, paper)
    result = add_upvote(member, paper)

    assert result.upvoted is True
    assert result.votes == 6
    assert_count_in_step(paper, 1)


def test_remove_upvote_withdraws_the_vote(member, paper):
    add_upvote(member, paper)
    result = remove_upvote(member, paper)

    assert result.upvoted is False
    assert result.votes == 5
    assert not Upvote.objects.filter(user=member, paper=paper).exists()
    assert_count_in_step(paper, 0)


def test_remove_when_not_voted_changes_nothing(member, grace, paper):
    add_upvote(grace, paper)
    result = remove_upvote(member, paper)

    assert result.upvoted is False
    assert result.votes == 6
    assert_count_in_step(paper, 1)
    assert Upvote.objects.filter(user=grace, paper=paper).exists()


def test_toggle_votes_then_withdraws_then_votes_again(member, paper):
    assert toggle_upvote(member, paper).upvoted is True
    assert_count_in_step(paper, 1)

    assert toggle_upvote(member, paper).upvoted is False
    assert_count_in_step(paper, 0)

    again = toggle_upvote(member, paper)
    assert again.upvoted is True
    assert again.votes == 6
    assert_count_in_step(paper, 1)


def test_two_members_voting_count_twice(member, grace, paper):
    add_upvote(member, paper)
    result = add_upvote(grace, paper)

    assert result.votes == 7
    assert_count_in_step(paper, 2)


def test_withdrawing_one_members_vote_keeps_the_others(member, grace, paper):
    add_upvote(member, paper)
    add_upvote(grace, paper)
    toggle_upvote(member, paper)

    assert list(Upvote.objects.filter(paper=paper).values_list("user__username", flat=True)) == [
        "grace"
    ]
    assert_count_in_step(paper, 1)


def test_a_vote_on_one_paper_leaves_other_papers_alone(member, paper):
    other = Paper.objects.create(slug="other", title="Another paper", source_upvotes=2)
    add_upvote(member, paper)

    assert_count_in_step(other, 0)
    assert other.votes == 2


# Rate limit ------------------------------------------------------------------------------------


def test_votes_beyond_the_per_minute_limit_are_refused(settings, member, paper):
    settings.VOTES_PER_MINUTE = 3
    with time_machine.travel(NOON, tick=False):
        toggle_upvote(member, paper)
        toggle_upvote(member, paper)
        toggle_upvote(member, paper)
        with pytest.raises(RateLimited):
            toggle_upvote(member, paper)

    # The refused click changed nothing: the third toggle's vote stands.
    assert_count_in_step(paper, 1)


def test_rate_limit_recovers_as_time_passes(settings, member, paper):
    settings.VOTES_PER_MINUTE = 3  # one vote's worth refills every 20 seconds
    with time_machine.travel(NOON, tick=False) as clock:
        for _ in range(3):
            toggle_upvote(member, paper)

        clock.shift(dt.timedelta(seconds=19))
        with pytest.raises(RateLimited):
            toggle_upvote(member, paper)

        clock.shift(dt.timedelta(seconds=1))
        assert toggle_upvote(member, paper).upvoted is False
        with pytest.raises(RateLimited):
            toggle_upvote(member, paper)

        # A full minute refills the whole bucket, and no more than it.
        clock.shift(dt.timedelta(minutes=5))
        for _ in range(3):
            toggle_upvote(member, paper)
        with pytest.raises(RateLimited):
            toggle_upvote(member, paper)


def test_rate_limit_is_per_member(settings, member, grace, paper):
    settings.VOTES_PER_MINUTE = 2
    with time_machine.travel(NOON, tick=False):
        toggle_upvote(member, paper)
        toggle_upvote(member, paper)
        with pytest.raises(RateLimited):
            toggle_upvote(member, paper)

        assert toggle_upvote(grace, paper).upvoted is True
    assert_count_in_step(paper, 1)


# Concurrent requests ---------------------------------------------------------------------------


def run_at_once(*calls: Callable[[], object]) -> list[object]:
    """Run each call in its own thread (and so its own database connection), released together."""
    barrier = threading.Barrier(len(calls))
    results: list[object] = [None] * len(calls)
    errors: list[BaseException] = []

    def work(i: int, call: Callable[[], object]) -> None:
        try:
            barrier.wait(timeout=10)
            results[i] = call()
        except BaseException as e:  # reported in the test's thread below
            errors.append(e)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "a voting thread hung"
    assert not errors, errors
    return results


# Several rounds, each on a fresh paper, so the two transactions really overlap at least once.
ROUNDS = 5


@pytest.mark.django_db(transaction=True)
def test_same_member_voting_twice_at_once_counts_once(member):
    for n in range(ROUNDS):
        paper = Paper.objects.create(slug=f"race-{n}", title=f"Race {n}")

        results = run_at_once(
            partial(add_upvote, member, paper), partial(add_upvote, member, paper)
        )

        assert [r.upvoted for r in results] == [True, True]
        assert_count_in_step(paper, 1)


@pytest.mark.django_db(transaction=True)
def test_two_members_voting_at_once_both_count(member, grace):
    for n in range(ROUNDS):
        paper = Paper.objects.create(slug=f"race-{n}", title=f"Race {n}")

        run_at_once(partial(add_upvote, member, paper), partial(add_upvote, grace, paper))

        assert_count_in_step(paper, 2)


@pytest.mark.django_db(transaction=True)
def test_withdrawing_the_same_vote_twice_at_once_counts_once(member, grace):
    for n in range(ROUNDS):
        paper = Paper.objects.create(slug=f"race-{n}", title=f"Race {n}")
        add_upvote(member, paper)
        add_upvote(grace, paper)

        run_at_once(partial(remove_upvote, member, paper), partial(remove_upvote, member, paper))

        assert_count_in_step(paper, 1)
