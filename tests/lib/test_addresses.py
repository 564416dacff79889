"""Every email address we accept is one our SMTP sending can carry (broadsheet/lib/addresses.py):
sign-up, the member model (admin), digest subscriptions (page and API), password reset."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.exceptions import ValidationError
from factories import make_user

from broadsheet.digests.models import Subscription
from broadsheet.lib.addresses import AddressError, normalise_address

User = get_user_model()

REFUSED = [
    "victim@exa\u2028mple.org",  # LINE SEPARATOR: UnicodeError when the message was built
    "victim@exa\u2029mple.org",
    "vic\u200btim@example.org",  # zero-width space
    "vic\x00tim@example.org",
    "victim@exa\tmple.org",
    "eve@example.org\r\nBcc: x@example.net",
    "x@[127.0.0.1]",
    "x@[IPv6:::1]",
    "x@localhost",
    "ré@example.org",  # not without SMTPUTF8, which Django's backend does not speak
    '"quoted local"@example.org',
    "Eve <eve@example.org>",
    "a@" + "b" * 64 + ".org",  # a label longer than 63
    "x" * 250 + "@example.org",
    "not-an-address",
    "",
]


@pytest.mark.parametrize("address", REFUSED)
def test_addresses_smtp_cannot_carry_are_refused(address):
    with pytest.raises(AddressError, match="email address"):
        normalise_address(address)


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        (" Ada.Lovelace@Example.ORG ", "Ada.Lovelace@example.org"),
        ("reader@Bücher.example", "reader@xn--bcher-kva.example"),
        ("reader@xn--bcher-kva.example", "reader@xn--bcher-kva.example"),
    ],
)
def test_accepted_addresses_are_stored_with_an_ascii_lower_case_domain(typed, stored):
    assert normalise_address(typed) == stored


def test_the_refusal_names_the_problem():
    with pytest.raises(AddressError, match="LINE SEPARATOR"):
        normalise_address("victim@exa\u2028mple.org")
    with pytest.raises(AddressError, match="bracketed IP address"):
        normalise_address("x@[127.0.0.1]")


@pytest.mark.django_db
@pytest.mark.parametrize("address", ["victim@exa\u2028mple.org", "x@[127.0.0.1]"])
def test_signup_refuses_the_address_with_a_form_error(client, address):
    response = client.post(
        "/accounts/signup/",
        {
            "username": "grace",
            "email": address,
            "password1": "a-long-enough-pass-phrase",
            "password2": "a-long-enough-pass-phrase",
        },
    )
    assert response.status_code == 200
    assert "Enter a valid email address" in response.content.decode()
    assert not User.objects.exists()
    assert mail.outbox == []


@pytest.mark.django_db
@pytest.mark.parametrize("address", ["victim@exa\u2028mple.org", "x@[127.0.0.1]"])
def test_the_digest_form_refuses_the_address(client, address):
    response = client.post("/digests/subscribe", {"email": address, "frequency": "daily"})
    assert response.status_code == 400
    assert "Enter a valid email address" in response.content.decode()
    assert not Subscription.objects.exists()


@pytest.mark.django_db
def test_password_reset_refuses_the_address_with_a_form_error(client):
    make_user("ada")
    response = client.post("/accounts/password_reset/", {"email": "ada@exa\u2028mple.org"})
    assert response.status_code == 200
    assert "Enter a valid email address" in response.content.decode()
    assert mail.outbox == []


@pytest.mark.django_db
def test_a_member_address_is_checked_by_the_model_so_the_admin_refuses_it():
    member = make_user("ada")
    member.email = "ada@exa\u2028mple.org"
    with pytest.raises(ValidationError, match="LINE SEPARATOR"):
        member.full_clean()
    sub = Subscription(email="x@[127.0.0.1]")
    with pytest.raises(ValidationError, match="bracketed IP"):
        sub.full_clean()


@pytest.mark.django_db
def test_the_api_refuses_to_subscribe_a_stored_address_smtp_cannot_carry(client):
    from broadsheet.api.tokens import create_token

    member = make_user("ada", email="ada@exa\u2028mple.org")  # stored before the check existed
    token = create_token(member, "writer", "write")[1]
    response = client.patch(
        "/api/v1/me/subscription",
        {"subscribed": True},
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 400
    assert "Enter a valid email address" in response.json()["error"]
    assert not Subscription.objects.exists()
