"""Invitations: made and revoked by moderators, single-use, expiring; the only sign-up of a
private site besides single sign-on."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone
from factories import make_user

from broadsheet.accounts import invitations
from broadsheet.accounts.models import Invitation

pytestmark = pytest.mark.django_db


@pytest.fixture
def member(db):
    """A member without a password: nothing here logs in by one (and argon2 is slow)."""
    return make_user("ada")


User = get_user_model()
LINK = re.compile(r"http://testserver(/accounts/invitation/[\w-]+)")


def join_data(username: str = "grace", **overrides) -> dict:
    return {
        "username": username,
        "email": f"{username}@example.org",
        "password1": "a-long-enough-pass-phrase",
        "password2": "a-long-enough-pass-phrase",
    } | overrides


def make_link(client: Client, note: str = "Grace, new PhD student") -> str:
    page = client.post("/moderation/invitations", {"note": note})
    assert page.status_code == 200
    return LINK.search(page.content.decode())[1]


@pytest.fixture
def moderator_client(moderator) -> Client:
    client = Client(enforce_csrf_checks=True)
    client.force_login(moderator)
    return client


def csrf_post(client: Client, url: str, data: dict | None = None):
    client.get("/moderation/invitations")  # sets the CSRF cookie
    token = client.cookies["csrftoken"].value
    return client.post(url, {**(data or {}), "csrfmiddlewaretoken": token})


def test_a_moderator_makes_a_link_that_works_once(client, moderator, settings):
    settings.PRIVATE = True
    mod = Client()
    mod.force_login(moderator)
    assert 'href="/moderation/invitations"' in mod.get("/moderation/").content.decode()
    path = make_link(mod)
    invitation = Invitation.objects.get()
    assert invitation.note == "Grace, new PhD student"
    assert path.rsplit("/", 1)[1] not in invitation.digest  # only the digest is kept
    assert invitation.expires - invitation.created == dt.timedelta(days=settings.INVITE_DAYS)
    assert path not in mod.get("/moderation/invitations").content.decode()  # shown once

    page = client.get(path)  # open to the anonymous on a private site
    assert page.status_code == 200 and "Join Broadsheet" in page.content.decode()
    joined = client.post(path, join_data())
    assert joined.status_code == 302
    grace = User.objects.get(username="grace")
    assert grace.check_password("a-long-enough-pass-phrase")
    assert client.get("/").status_code == 200  # logged in: the private site opens
    invitation.refresh_from_db()
    assert (invitation.state, invitation.used_by) == ("used", grace)
    assert "used by" in mod.get("/moderation/invitations").content.decode()

    again = Client().post(path, join_data("mallory"))
    assert again.status_code == 404
    assert "no longer works" in again.content.decode()
    assert not User.objects.filter(username="mallory").exists()


def test_an_invitation_expires_after_the_set_days(client, moderator, settings):
    settings.INVITE_DAYS = 3
    _, secret = invitations.create(moderator)
    path = f"/accounts/invitation/{secret}"
    with time_machine.travel(timezone.now() + dt.timedelta(days=3, minutes=-1)):
        assert client.get(path).status_code == 200
    with time_machine.travel(timezone.now() + dt.timedelta(days=3, minutes=1)):
        assert client.get(path).status_code == 404
        assert client.post(path, join_data()).status_code == 404
    assert not User.objects.filter(username="grace").exists()


def test_revoking_needs_a_moderator_and_csrf_and_ends_the_link(moderator_client, member):
    row, secret = invitations.create(None, "for a visitor")
    url = f"/moderation/invitations/{row.pk}/revoke"
    assert moderator_client.post(url).status_code == 403  # no CSRF token

    outsider = Client()
    outsider.force_login(member)
    assert outsider.post(url).status_code == 403  # not a moderator
    assert Client().post(url).status_code == 302  # anonymous: log in first

    assert csrf_post(moderator_client, url).status_code == 302
    row.refresh_from_db()
    assert row.state == "revoked"
    assert Client().get(f"/accounts/invitation/{secret}").status_code == 404
    assert csrf_post(moderator_client, url).status_code == 404  # nothing left to revoke


def test_consuming_is_single_use_even_when_two_try(member, moderator):
    row, _ = invitations.create(moderator)
    assert invitations.consume(row.pk, member) is True
    assert invitations.consume(row.pk, moderator) is False
    row.refresh_from_db()
    assert row.used_by == member


def test_bad_input_is_a_clear_answer(client, moderator, settings, member):
    settings.PRIVATE = True
    assert client.get("/accounts/invitation/" + "x" * 300).status_code == 404
    row, secret = invitations.create(moderator)
    taken = client.post(f"/accounts/invitation/{secret}", join_data(email=member.email))
    assert taken.status_code == 400
    assert "exists already" in taken.content.decode()
    mismatch = client.post(f"/accounts/invitation/{secret}", join_data(password2="other"))
    assert mismatch.status_code == 400
    row.refresh_from_db()
    assert row.state == "open"  # a refused form uses nothing up


def test_a_private_site_has_no_open_sign_up(client, settings):
    settings.PRIVATE = True
    settings.PAGE_CACHE_SECONDS = 0
    assert client.get("/accounts/signup/").status_code == 302  # to the login page
    user = User.objects.create_user("pat", "pat@example.org")
    client.force_login(user)
    page = client.get("/accounts/signup/")
    assert page.status_code == 403
    assert "by invitation" in page.content.decode()
