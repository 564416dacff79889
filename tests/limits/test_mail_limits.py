"""Limits on the email strangers can make us send: one password reset email per address per
BROADSHEET_MAIL_COOLDOWN_MINUTES (the page answers the same either way), and per-client limits
on the forms that send email, answered 429 with a message."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.core import mail
from factories import make_user

pytestmark = pytest.mark.django_db

START = dt.datetime(2026, 11, 25, 9, 0, tzinfo=dt.UTC)


def test_thirty_reset_requests_for_one_address_send_one_email(client, settings, member):
    settings.MAIL_FORM_POSTS_PER_HOUR = 100
    with time_machine.travel(START, tick=True):
        for i in range(30):
            # From thirty clients, so the per-client limit is not what stops them.
            response = client.post(
                "/accounts/password_reset/", {"email": "ada@example.org"}, REMOTE_ADDR=f"10.0.0.{i}"
            )
            assert response.status_code == 302
            assert response["Location"] == "/accounts/password_reset/done/"
        assert len(mail.outbox) == 1
        # Another address is not held back by the first one's limit.
        make_user("bob", password="another-long-pass-phrase")
        client.post("/accounts/password_reset/", {"email": "bob@example.org"})
        assert [m.to for m in mail.outbox] == [["ada@example.org"], ["bob@example.org"]]
    with time_machine.travel(START + dt.timedelta(minutes=16), tick=True):
        client.post("/accounts/password_reset/", {"email": "ADA@example.org"})
        assert len(mail.outbox) == 3


def test_the_cooldown_follows_the_setting(client, settings, member):
    settings.MAIL_COOLDOWN_MINUTES = 60
    with time_machine.travel(START, tick=True):
        client.post("/accounts/password_reset/", {"email": "ada@example.org"})
    with time_machine.travel(START + dt.timedelta(minutes=30), tick=True):
        client.post("/accounts/password_reset/", {"email": "ada@example.org"})
    assert len(mail.outbox) == 1


FORMS = {
    "/accounts/password_reset/": lambda i: {"email": f"nobody{i}@example.org"},
    "/digests/subscribe": lambda i: {"email": f"reader{i}@example.org", "frequency": "daily"},
    "/accounts/signup/": lambda i: {
        "username": f"member{i}",
        "email": f"member{i}@example.org",
        "password1": "a-long-enough-pass-phrase",
        "password2": "a-long-enough-pass-phrase",
    },
}


@pytest.mark.parametrize("path", list(FORMS))
def test_a_client_posting_a_mail_form_too_often_gets_429_with_a_message(client, settings, path):
    settings.MAIL_FORM_POSTS_PER_HOUR = 3
    with time_machine.travel(START, tick=True):
        for i in range(3):
            response = client.post(path, FORMS[path](i), REMOTE_ADDR="192.0.2.7")
            assert response.status_code in (200, 302)
        sent = len(mail.outbox)
        refused = client.post(path, FORMS[path](3), REMOTE_ADDR="192.0.2.7")
        assert refused.status_code == 429
        assert "Too many requests" in refused.content.decode()
        assert "more than 3 times in an hour" in refused.content.decode()
        assert refused["Retry-After"] == "1200"  # one post's worth comes back every 20 minutes
        assert "Try again in 20 minutes" in refused.content.decode()
        assert len(mail.outbox) == sent
        # Another client is not affected, and reading the form is never limited.
        assert client.post(path, FORMS[path](4), REMOTE_ADDR="192.0.2.8").status_code != 429
        assert client.get(path, REMOTE_ADDR="192.0.2.7").status_code == 200
    with time_machine.travel(START + dt.timedelta(minutes=21), tick=True):
        # A third of an hour later, a third of the bucket is back: one more post.
        assert client.post(path, FORMS[path](5), REMOTE_ADDR="192.0.2.7").status_code != 429


@pytest.fixture
def mail_server_down(settings):
    from conftest import free_port

    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", free_port()  # nobody listens
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 5


def test_a_mail_server_down_is_no_500_on_signup_or_password_reset(client, member, mail_server_down):
    signup = client.post(
        "/accounts/signup/",
        {
            "username": "grace",
            "email": "grace@example.org",
            "password1": "a-long-enough-pass-phrase",
            "password2": "a-long-enough-pass-phrase",
        },
    )
    assert signup.status_code == 200 and "Check your inbox" in signup.content.decode()
    reset = client.post("/accounts/password_reset/", {"email": "ada@example.org"})
    assert reset.status_code == 302 and reset["Location"] == "/accounts/password_reset/done/"
