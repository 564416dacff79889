"""The polite HTTP client: spacing, Retry-After, bounded retries; a fake clock, no real sleeps."""

from __future__ import annotations

import pytest

from broadsheet.ingest.http import USER_AGENT, FetchError, PoliteClient

from .conftest import Reply, ok


@pytest.fixture
def client(fake_clock, replay):
    replay.clock = fake_clock  # requests are stamped with the fake time they arrive at
    return PoliteClient(
        min_interval=3.0, retries=4, backoff=5.0, max_wait=600.0, timeout=5.0,
        clock=fake_clock, sleep=fake_clock.sleep,
    )  # fmt: skip


def test_consecutive_requests_are_spaced_by_min_interval(client, replay, fake_clock):
    replay.script("/feed", ok("a"), ok("b"), ok("c"), ok("d"))
    url = replay.url("/feed")

    assert client.get(url) == b"a"
    fake_clock.advance(1.0)  # parsing the page took a second
    assert client.get(url) == b"b"
    assert client.get(url) == b"c"
    fake_clock.advance(10.0)  # long enough: no wait at all
    assert client.get(url) == b"d"

    assert fake_clock.sleeps == [2.0, 3.0]
    times = [r.at for r in replay.requests]
    assert [round(b - a, 6) for a, b in zip(times, times[1:], strict=False)] == [3.0, 3.0, 10.0]
    assert client.requests == 4


def test_the_first_request_does_not_wait(client, replay, fake_clock):
    replay.script("/feed", ok("a"))

    client.get(replay.url("/feed"))

    assert fake_clock.sleeps == []


def test_params_are_sent_as_a_query_string_with_our_user_agent(client, replay):
    replay.script("/api/query", ok("x"))

    client.get(replay.url("/api/query"), {"search_query": 'cat:cs.LG AND ti:"a b"', "start": 0})

    (request,) = replay.requests
    assert request.query == {"search_query": 'cat:cs.LG AND ti:"a b"', "start": "0"}
    assert request.headers["User-Agent"] == USER_AGENT


def test_503_with_retry_after_waits_as_long_as_the_server_asks(client, replay, fake_clock):
    replay.script("/feed", Reply(503, b"busy", {"Retry-After": "17"}), ok("done"))

    assert client.get(replay.url("/feed")) == b"done"

    assert fake_clock.sleeps == [17.0]
    assert [r.at for r in replay.requests] == [1000.0, 1017.0]


def test_a_short_retry_after_still_keeps_the_minimum_spacing(client, replay, fake_clock):
    replay.script("/feed", Reply(503, b"", {"Retry-After": "1"}), ok("done"))

    client.get(replay.url("/feed"))

    assert fake_clock.sleeps == [1.0, 2.0]
    assert replay.requests[1].at - replay.requests[0].at == 3.0


def test_retry_after_is_capped_by_max_wait(client, replay, fake_clock):
    replay.script("/feed", Reply(429, b"", {"Retry-After": "86400"}), ok("done"))

    client.get(replay.url("/feed"))

    assert fake_clock.sleeps == [600.0]


def test_a_retry_after_of_non_ascii_digits_is_ignored_not_a_crash(client, replay, fake_clock):
    # "²".isdigit() is True, and float("²") raises: such a header means "no Retry-After".
    replay.script("/feed", Reply(503, b"", {"Retry-After": "\u00b2"}), ok("done"))

    assert client.get(replay.url("/feed")) == b"done"

    assert fake_clock.sleeps == [5.0]


def test_429_without_retry_after_backs_off_exponentially(client, replay, fake_clock):
    replay.script("/feed", Reply(429), Reply(429), Reply(429), ok("done"))

    assert client.get(replay.url("/feed")) == b"done"

    assert fake_clock.sleeps == [5.0, 10.0, 20.0]


def test_retries_are_bounded_then_fetch_error(client, replay, fake_clock):
    replay.script("/feed", Reply(503, b"down", {"Retry-After": "30"}), repeat_last=True)

    with pytest.raises(FetchError, match="HTTP 503 after 5 attempts"):
        client.get(replay.url("/feed"))

    assert len(replay.requests) == 5
    assert fake_clock.sleeps == [30.0, 30.0, 30.0, 30.0]


def test_a_client_error_is_not_retried(client, replay, fake_clock):
    replay.script("/feed", Reply(404, b"no such page"), ok("never asked"))

    with pytest.raises(FetchError) as raised:
        client.get(replay.url("/feed"))

    assert raised.value.status == 404
    assert len(replay.requests) == 1
    assert fake_clock.sleeps == []


def test_a_dropped_connection_is_retried(client, replay, fake_clock):
    replay.script("/feed", Reply(drop=True), ok("done"))

    assert client.get(replay.url("/feed")) == b"done"

    assert len(replay.requests) == 2
    assert fake_clock.sleeps == [5.0]


def test_a_server_that_is_not_there_is_a_fetch_error(fake_clock):
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    client = PoliteClient(retries=2, clock=fake_clock, sleep=fake_clock.sleep)

    with pytest.raises(FetchError, match="after 3 attempts"):
        client.get(f"http://127.0.0.1:{port}/feed")

    assert fake_clock.sleeps == [5.0, 10.0]
