"""Rate limits per token, per member session and per IP: 429 with Retry-After, refilled in time."""

from __future__ import annotations

import datetime as dt

import time_machine
from django.test import Client

from broadsheet.api.tokens import create_token

from .conftest import bearer

START = dt.datetime(2026, 6, 23, 12, 0, tzinfo=dt.UTC)


def test_anonymous_callers_are_limited_per_ip(db, settings):
    settings.API_RATE_LIMIT_ANONYMOUS = 3
    here, there = Client(REMOTE_ADDR="10.0.0.1"), Client(REMOTE_ADDR="10.0.0.2")
    with time_machine.travel(START, tick=False) as clock:
        assert [here.get("/api/v1/papers").status_code for _ in range(3)] == [200] * 3
        limited = here.get("/api/v1/papers")
        assert limited.status_code == 429
        assert limited["Retry-After"] == "20"  # one request's worth refills in 60 s / 3
        assert "error" in limited.json()
        # The HF-compatible endpoints share the same allowance.
        assert here.get("/api/daily_papers").status_code == 429
        assert there.get("/api/v1/papers").status_code == 200  # another address
        clock.shift(20)
        assert here.get("/api/v1/papers").status_code == 200
        assert here.get("/api/v1/papers").status_code == 429


def test_each_token_has_its_own_allowance(db, member, settings):
    settings.API_RATE_LIMIT_ANONYMOUS = 1
    settings.API_RATE_LIMIT_TOKEN = 2
    _, first = create_token(member, "one")
    _, second = create_token(member, "two")
    client = Client(REMOTE_ADDR="10.0.0.9")
    with time_machine.travel(START, tick=False) as clock:
        assert client.get("/api/v1/papers", headers=bearer(first)).status_code == 200
        assert client.get("/api/v1/papers", headers=bearer(first)).status_code == 200
        limited = client.get("/api/v1/papers", headers=bearer(first))
        assert limited.status_code == 429 and limited["Retry-After"] == "30"
        assert client.get("/api/v1/papers", headers=bearer(second)).status_code == 200
        # Anonymous requests from the same address have their own, separate bucket.
        assert client.get("/api/v1/papers").status_code == 200
        clock.shift(60)
        assert client.get("/api/v1/papers", headers=bearer(first)).status_code == 200


def test_bad_tokens_spend_the_ip_allowance(db, settings):
    settings.API_RATE_LIMIT_ANONYMOUS = 2
    client = Client(REMOTE_ADDR="10.0.0.3")
    with time_machine.travel(START, tick=False):
        wrong = {"Authorization": "Bearer bsk_0123456789ab_guess"}
        assert client.get("/api/v1/papers", headers=wrong).status_code == 401
        assert client.get("/api/v1/papers", headers=wrong).status_code == 401
        assert client.get("/api/v1/papers", headers=wrong).status_code == 429


def test_a_session_is_limited_per_member(db, member, settings):
    settings.API_RATE_LIMIT_TOKEN = 1
    client = Client()
    client.force_login(member)
    with time_machine.travel(START, tick=False):
        assert client.get("/api/v1/me").status_code == 200
        assert client.get("/api/v1/me").status_code == 429
