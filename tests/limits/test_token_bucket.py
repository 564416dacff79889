"""The database token bucket: spent in one statement (no read-then-write transaction whose
SELECT holds SQLite's write lock), exact under concurrent requests, refilled in time."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
import time_machine
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext

from broadsheet.lib.models import TokenBucket

START = dt.datetime(2026, 6, 23, 12, 0, tzinfo=dt.UTC)


def test_a_bucket_is_spent_in_one_statement_without_a_read_first(db):
    with time_machine.travel(START, tick=False):
        for expected in (True, True, False):  # a fresh bucket, an existing one, a refusal
            with CaptureQueriesContext(connection) as queries:
                assert TokenBucket.authorize("one-statement", 2, 60) is expected
            statements = [q["sql"] for q in queries.captured_queries]
            assert len(statements) == 1, statements
            assert statements[0].startswith("INSERT INTO")


def test_refills_linearly_and_a_refusal_leaves_the_bucket_as_it_was(db):
    with time_machine.travel(START, tick=False) as clock:
        assert [TokenBucket.authorize("refill", 3, 60) for _ in range(4)] == [True] * 3 + [False]
        clock.shift(19)
        assert TokenBucket.authorize("refill", 3, 60) is False  # not yet a whole request's worth
        clock.shift(1)
        assert TokenBucket.authorize("refill", 3, 60) is True
        assert TokenBucket.authorize("refill", 3, 60) is False
        clock.shift(3600)  # a long pause refills to the capacity, no more
        assert [TokenBucket.authorize("refill", 3, 60) for _ in range(4)] == [True] * 3 + [False]
        assert TokenBucket.authorize("another key", 3, 60) is True


@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_spend_exactly_the_capacity():
    capacity, threads, calls = 25, 6, 10
    allowed: list[bool] = []
    errors: list[BaseException] = []
    start = threading.Barrier(threads)

    def run() -> None:
        try:
            start.wait()
            for _ in range(calls):
                allowed.append(TokenBucket.authorize("crowd", capacity, 3600))
        except BaseException as e:  # reported below, with the thread's own error
            errors.append(e)
        finally:
            connections.close_all()

    workers = [threading.Thread(target=run) for _ in range(threads)]
    with time_machine.travel(START, tick=False):  # no refill while they run
        for w in workers:
            w.start()
        for w in workers:
            w.join()
    assert errors == []
    assert allowed.count(True) == capacity
    assert len(allowed) == threads * calls
