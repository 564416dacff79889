"""Subscribing with double opt-in: nothing is sent from a web request, nothing before the
confirmation link is used; bad addresses are refused; a second subscription merges."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine
from django.core import mail
from factories import make_user

from broadsheet.digests import tokens
from broadsheet.digests.models import DigestRun, Subscription
from broadsheet.digests.send import confirmations_waiting, send_confirmations, send_digests

from .conftest import NOW, TODAY


def _confirm_link(message) -> str:
    text = message.get_body(("plain",)).get_content()
    return re.search(r"https://papers\.example\.org(/digests/confirm/\S+)", text)[1]


def test_subscribing_sends_nothing_from_the_request_and_the_worker_sends_the_link(
    client, smtp, trending
):
    response = client.post(
        "/digests/subscribe", {"email": "New.Reader@Example.ORG", "frequency": "daily"}
    )
    assert response.status_code == 200
    assert b"Check your inbox" in response.content
    assert smtp.messages == [] and mail.outbox == []
    assert confirmations_waiting()  # the worker looks every few seconds, and starts the job
    sub = Subscription.objects.get()
    assert sub.email == "New.Reader@example.org" and sub.confirmed_at is None

    # Not confirmed: no digest, whatever the sender is asked.
    assert send_digests([TODAY.key]).sent == 0
    assert smtp.messages == []

    assert send_confirmations() == 1
    assert send_confirmations() == 0  # sent once
    assert not confirmations_waiting()
    (received,) = smtp.messages
    assert received.rcpt_tos == ["New.Reader@example.org"]
    assert "Confirm your" in received.message["Subject"]
    assert received.message.get_body(("html",)) is not None
    link = _confirm_link(received.message)

    # Opening the link (a mail scanner's GET) confirms nothing; the button's POST does.
    assert client.get(link).status_code == 200
    assert Subscription.objects.get().confirmed_at is None
    response = client.post(link)
    assert response.status_code == 200 and b"Confirmed" in response.content
    assert Subscription.objects.get().confirmed_at is not None


@pytest.mark.parametrize(
    "email",
    ["not-an-address", "a@b", "", "x" * 250 + "@example.org", "eve@example.org\r\nBcc: x@y.z"],
)
def test_invalid_addresses_are_refused_with_a_message(client, db, email):
    response = client.post("/digests/subscribe", {"email": email, "frequency": "daily"})
    assert response.status_code == 400
    assert b"valid email address" in response.content or b"required" in response.content
    assert not Subscription.objects.exists()


def test_subscribing_twice_merges_into_one_subscription(client, db):
    for frequency in ("daily", "weekly"):
        client.post("/digests/subscribe", {"email": "twice@example.org", "frequency": frequency})
    client.post("/digests/subscribe", {"email": "TWICE@example.org", "frequency": "weekly"})
    sub = Subscription.objects.get()
    assert sub.frequency == "weekly" and sub.confirmation_due


def test_confirmation_links_expire_and_are_not_unsubscribe_links(client, db):
    sub = Subscription.objects.create(email="late@example.org", confirmation_due=True)
    with time_machine.travel(NOW, tick=False):
        token = tokens.make_token(sub, tokens.CONFIRM)
    with time_machine.travel(NOW + dt.timedelta(days=8), tick=False):
        assert client.post(f"/digests/confirm/{token}").status_code == 404
    with time_machine.travel(NOW + dt.timedelta(days=2), tick=False):
        unsub = tokens.make_token(sub, tokens.UNSUBSCRIBE)
        assert client.post(f"/digests/confirm/{unsub}").status_code == 404
        assert client.post(f"/digests/confirm/{token[:-2]}xx").status_code == 404
        assert Subscription.objects.get().confirmed_at is None
        assert client.post(f"/digests/confirm/{token}").status_code == 200
    assert Subscription.objects.get().confirmed_at is not None


def test_unsubscribe_link_works_without_login_and_dies_after_resubscribing(client, subscriber):
    token = tokens.make_token(subscriber, tokens.UNSUBSCRIBE)
    page = client.get(f"/digests/unsubscribe/{token}")
    assert page.status_code == 200 and b'<form method="post">' in page.content
    assert Subscription.objects.get().active  # a GET changes nothing
    assert client.post(f"/digests/unsubscribe/{token}").status_code == 200
    assert not Subscription.objects.get().active
    # Subscribing again needs a new confirmation, and the old links are retired.
    client.post("/digests/subscribe", {"email": subscriber.email, "frequency": "daily"})
    sub = Subscription.objects.get()
    assert sub.active and sub.confirmed_at is None and sub.confirmation_due
    assert client.post(f"/digests/unsubscribe/{token}").status_code == 404
    assert Subscription.objects.get().active


def test_a_member_subscribes_from_settings_and_cannot_take_anothers_address(client, db):
    ada, bob = make_user("ada"), make_user("bob")
    client.force_login(ada)
    assert client.get("/settings/digest").status_code == 200
    client.post("/settings/digest/subscribe")
    sub = Subscription.objects.get()
    assert sub.user == ada and sub.email == "ada@example.org" and sub.confirmation_due

    from broadsheet.digests.subscribe import DigestError, subscribe

    with pytest.raises(DigestError):
        subscribe("ada@example.org", user=bob)


def test_the_runs_of_a_period_are_created_once(subscriber, trending, smtp):
    send_digests([TODAY.key])
    send_digests([TODAY.key])
    assert DigestRun.objects.count() == 1
    assert len(smtp.messages) == 1


def test_a_member_taking_over_an_address_must_confirm_it_again(db, subscriber):
    from broadsheet.digests.subscribe import subscribe

    claimer = make_user("claimer", email=subscriber.email)
    sub = subscribe(subscriber.email, user=claimer)
    assert sub.pk == subscriber.pk and sub.user == claimer
    assert sub.confirmed_at is None and sub.confirmation_due
