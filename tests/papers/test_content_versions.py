"""ContentVersion: which scopes each kind of change bumps, and on PostgreSQL that concurrent
writers do not wait for each other and get their values in commit order."""

from __future__ import annotations

import datetime as dt

import psycopg
import pytest
from django.db import connection
from factories import make_comment, make_listing, make_paper, upvote

from broadsheet.papers import moderation
from broadsheet.papers.models import Author, Authorship, ContentVersion, Listing, Paper

DAY = dt.date(2026, 6, 23)


def versions() -> dict[str, int]:
    return dict(ContentVersion.objects.values_list("scope", "value"))


def bumped(change) -> set[str]:
    before = versions()
    change()
    after = versions()
    assert after.get("*", 0) >= max(after.values(), default=0)  # "*" grows with every bump
    return {scope for scope, value in after.items() if value > before.get(scope, 0)} - {"*"}


@pytest.mark.django_db
def test_each_kind_of_change_bumps_the_scopes_of_the_pages_showing_it(member, moderator):
    listing = make_listing(DAY, "Attention Is All You Need", votes=5)
    paper = listing.paper
    own = {f"paper:{paper.pk}", f"day:{DAY}", "trending"}

    assert bumped(lambda: upvote(member, paper)) == own
    assert bumped(lambda: make_comment(paper, member)) == own
    assert bumped(lambda: Paper.objects.filter(pk=paper.pk).update(title="Renamed")) == own
    author = Author.objects.create(name="A. Person")
    assert bumped(lambda: Authorship.objects.create(paper=paper, author=author, position=0)) == own

    other = make_paper("Unlisted yet")  # a new paper is on no page: nothing to bump
    assert bumped(lambda: make_paper("Another new one")) == set()
    later = DAY + dt.timedelta(days=40)
    assert bumped(lambda: Listing.objects.create(paper=other, day=later, source="import")) == {
        f"paper:{other.pk}",
        f"day:{later}",
        "days",
        "trending",
    }
    assert bumped(lambda: Listing.objects.filter(paper=other).update(day=DAY)) == {
        f"paper:{other.pk}",
        f"day:{later}",
        f"day:{DAY}",
        "days",
        "trending",
    }
    assert bumped(lambda: moderation.set_hidden(moderator, listing, True)) == own | {"days"}
    assert "all" in bumped(lambda: moderation.set_hidden(moderator, paper, True))
    assert bumped(lambda: Author.objects.filter(pk=author.pk).update(name="B. Person")) == {"all"}


@pytest.mark.django_db
def test_a_statement_over_many_rows_bumps_every_page_once(member):
    papers = Paper.objects.bulk_create(
        Paper(slug=f"bulk-{i}", title=f"Bulk {i}") for i in range(1001)
    )
    ids = [p.pk for p in papers]
    changed = bumped(lambda: Paper.objects.filter(pk__in=ids).update(title="T"))
    if connection.vendor == "postgresql":
        assert changed == {"all"}
    else:  # row triggers: each paper's page (SQLite writes them at once, nobody waits)
        assert changed == {f"paper:{i}" for i in ids} | {"trending"}


def connect() -> psycopg.Connection:
    db = connection.settings_dict
    return psycopg.connect(
        dbname=db["NAME"],
        user=db["USER"],
        password=db["PASSWORD"],
        host=db["HOST"],
        port=db["PORT"],
    )


def test_concurrent_writers_do_not_wait_for_each_other_and_commit_in_order(transactional_db):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite has one writer at a time")
    first_paper = make_listing(DAY, "First").paper
    second_paper = make_listing(DAY, "Second").paper  # the same day: shared scopes
    write = "UPDATE papers_paper SET upvote_count = upvote_count + 1 WHERE id = %s"
    with connect() as first, connect() as second:
        for conn in (first, second):
            # Waiting for a lock the other holds raises instead of hanging the test.
            conn.execute("SET lock_timeout = '2s'")
            conn.commit()
        first.execute(write, [first_paper.pk])  # holds its row until it commits
        second.execute(write, [second_paper.pk])
        second.commit()
        first.commit()
    after = versions()
    # Values follow commit order, not the order of the writes.
    assert after[f"paper:{second_paper.pk}"] < after[f"paper:{first_paper.pk}"]
    assert after[f"day:{DAY}"] == after["trending"] == after[f"paper:{first_paper.pk}"]
    assert after["*"] == after[f"paper:{first_paper.pk}"]
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM papers_contentchange")
        assert cursor.fetchone() == (0,)  # notes of committed transactions are gone
