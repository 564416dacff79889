"""Failed logins are limited per account and per client (django-axes, in the database): at the
limit even the right password is refused with a 429 page until the cool-off has passed."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.test import Client
from factories import PASSWORD, make_user

START = dt.datetime(2026, 6, 23, 12, 0, tzinfo=dt.UTC)
LOGIN = "/accounts/login/"


@pytest.fixture
def small_limit(settings):
    settings.AXES_FAILURE_LIMIT = 3
    settings.AXES_COOLOFF_TIME = dt.timedelta(minutes=15)


def fail(client: Client, username: str = "ada") -> int:
    return client.post(LOGIN, {"username": username, "password": "wrong-horse"}).status_code


def log_in(client: Client, username: str = "ada"):
    return client.post(LOGIN, {"username": username, "password": PASSWORD})


def test_an_account_is_locked_after_the_limit_and_opens_after_the_cool_off(db, small_limit):
    ada = make_user("ada", password=PASSWORD)
    attacker = Client(REMOTE_ADDR="203.0.113.7")
    with time_machine.travel(START, tick=False) as clock:
        assert [fail(attacker) for _ in range(2)] == [200, 200]
        locked = attacker.post(LOGIN, {"username": "ada", "password": "wrong-horse"})
        assert locked.status_code == 429
        assert locked["Retry-After"] == "900"
        page = locked.content.decode()
        assert "Too many login attempts" in page and "15 minutes" in page
        assert '<html lang="en">' in page  # the site's own layout
        assert 'href="/accounts/password_reset/"' in page
        # The right password, from the owner's own address, is refused as well.
        owner = Client(REMOTE_ADDR="198.51.100.20")
        assert log_in(owner).status_code == 429
        assert "_auth_user_id" not in owner.session
        # Failures during the lock do not extend it: the owner is in 15 minutes after the third.
        clock.shift(dt.timedelta(minutes=10))
        assert fail(attacker) == 429
        refused = log_in(owner)
        assert refused.status_code == 429 and refused["Retry-After"] == "300"
        clock.shift(dt.timedelta(minutes=5, seconds=1))
        response = log_in(owner)
        assert response.status_code == 302
        assert owner.session["_auth_user_id"] == str(ada.pk)


def test_one_client_is_locked_out_of_every_account(db, small_limit):
    for name in ("ada", "grace", "alan", "barbara"):
        make_user(name, password=PASSWORD)
    attacker = Client(REMOTE_ADDR="203.0.113.8")
    with time_machine.travel(START, tick=False):
        assert fail(attacker, "ada") == 200
        assert fail(attacker, "grace") == 200
        assert fail(attacker, "alan") == 429
        assert log_in(attacker, "barbara").status_code == 429
        # Another client logs in to those accounts as usual.
        assert log_in(Client(REMOTE_ADDR="198.51.100.21"), "barbara").status_code == 302


def test_a_success_does_not_wipe_the_failures_counted(db, small_limit):
    make_user("ada", password=PASSWORD)
    make_user("mallory", password=PASSWORD)
    attacker = Client(REMOTE_ADDR="203.0.113.9")
    with time_machine.travel(START, tick=False):
        assert fail(attacker, "ada") == 200
        assert fail(attacker, "ada") == 200
        # Logging in to an account of one's own between guesses does not reset the count.
        assert log_in(attacker, "mallory").status_code == 302
        attacker.post("/accounts/logout/")
        assert fail(attacker, "ada") == 429


def test_the_limit_follows_the_client_behind_a_trusted_proxy(db, small_limit, settings):
    settings.FORWARDED_ALLOW_IPS = ["127.0.0.1"]
    make_user("ada", password=PASSWORD)
    make_user("grace", password=PASSWORD)
    with time_machine.travel(START, tick=False):
        attacker = Client(REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.10")
        assert [fail(attacker, "ada") for _ in range(3)] == [200, 200, 429]
        # Everyone else also arrives from the proxy's address, and is not locked out.
        other = Client(REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="198.51.100.22")
        assert log_in(other, "grace").status_code == 302


def test_the_admin_login_is_limited_too(db, small_limit):
    make_user("ada", password=PASSWORD)
    attacker = Client(REMOTE_ADDR="203.0.113.11")
    with time_machine.travel(START, tick=False):
        statuses = [
            attacker.post(
                "/admin/login/", {"username": "ada", "password": "wrong", "next": "/admin/"}
            ).status_code
            for _ in range(3)
        ]
        assert statuses == [200, 200, 429]
