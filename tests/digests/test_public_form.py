"""The public subscribe form never changes a confirmed subscription: only its owner does (logged
in, or through the signed manage link). Given a confirmed address, it answers as for a new one
and at most mails the owner their manage link, once per BROADSHEET_MAIL_COOLDOWN_MINUTES."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from broadsheet.digests.models import Subscription
from broadsheet.digests.send import send_confirmations


def _post(client, email: str, frequency: str = "weekly"):
    return client.post("/digests/subscribe", {"email": email, "frequency": frequency})


def _settings(sub: Subscription) -> tuple:
    sub.refresh_from_db()
    return (sub.email, sub.frequency, sub.confirmed_at, sub.key, sub.active, sub.user_id)


@pytest.mark.django_db
@pytest.mark.parametrize("whose", ["member_subscriber", "subscriber"])
def test_an_anonymous_post_changes_nothing_and_mails_the_owner_the_manage_link(
    request, client, smtp, clock, whose
):
    sub = request.getfixturevalue(whose)
    before = _settings(sub)

    response = _post(client, sub.email.upper().replace("@EXAMPLE.ORG", "@example.org"))
    new = _post(client, "someone.new@example.org")

    assert response.status_code == new.status_code == 200
    assert b"Check your inbox" in response.content
    strip = lambda r: re.sub(r"<strong>[^<]*</strong>", "", r.content.decode())  # noqa: E731
    assert strip(response) == strip(new)  # the same page, whether or not the address is known
    assert _settings(sub) == before  # still daily, still confirmed, same case, same links
    assert not Subscription.objects.get(pk=sub.pk).confirmation_due

    assert send_confirmations() == 2  # the new address's confirmation and the owner's notice
    (notice,) = [m for m in smtp.messages if m.rcpt_tos == [sub.email]]
    text = notice.message.get_body(("plain",)).get_content()
    assert "already receives" in text
    link = re.search(r"https://papers\.example\.org(/digests/manage/\S+)", text)[1]
    assert client.get(link).status_code == 200  # the link works for its owner

    # Asking again within the cooldown sends nothing more; the page still reads the same.
    clock.shift(dt.timedelta(minutes=5))
    assert b"Check your inbox" in _post(client, sub.email).content
    assert send_confirmations() == 0
    clock.shift(dt.timedelta(minutes=11))
    _post(client, sub.email)
    assert send_confirmations() == 1
    assert [m.rcpt_tos for m in smtp.messages].count([sub.email]) == 2
    assert _settings(sub) == before


def test_the_owner_still_changes_it_when_logged_in(client, member_subscriber):
    client.force_login(member_subscriber.user)
    response = _post(client, member_subscriber.email, "weekly")
    assert response.status_code == 200
    member_subscriber.refresh_from_db()
    assert member_subscriber.frequency == "weekly" and member_subscriber.confirmed_at


def test_an_unsubscribed_address_may_subscribe_again_through_the_form(client, subscriber):
    Subscription.objects.filter(pk=subscriber.pk).update(active=False)
    _post(client, subscriber.email, "weekly")
    subscriber.refresh_from_db()
    assert subscriber.active and subscriber.confirmed_at is None and subscriber.confirmation_due
    assert subscriber.frequency == "weekly"
