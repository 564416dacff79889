"""Single sign-on with OpenID Connect, against a real provider on 127.0.0.1 (oidc_provider.py),
driven through Django's test client following each redirect."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
import requests
from django.contrib.auth import get_user_model
from django.test import Client

from broadsheet.accounts import invitations
from broadsheet.accounts.models import SingleSignOnIdentity
from broadsheet.papers.authors import author_slug
from broadsheet.papers.models import Author, AuthorClaim

from .oidc_provider import Provider

pytestmark = pytest.mark.django_db

User = get_user_model()
ORCID_ID = "0000-0002-1825-0097"
CARBERRY = {  # an ORCID id token's claims: the iD as `sub`, the record's name, no address
    "sub": ORCID_ID,
    "given_name": "Josiah",
    "family_name": "Carberry",
    "name": "Josiah Carberry",
}
ALICE = {
    "sub": "alice-42",
    "email": "alice@lab.example.org",
    "email_verified": True,
    "preferred_username": "alice",
    "name": "Alice Liddell",
}


@pytest.fixture(scope="module")
def provider():
    server = Provider().start()
    yield server
    server.stop()


@pytest.fixture
def sso(provider, settings):
    for name, value in provider.settings().items():
        setattr(settings, name, value)
    settings.OIDC_PROVIDER_NAME = "ORCID"
    provider.token_requests.clear()
    return provider


def sign_in(client: Client, provider: Provider, person: dict, start: str = "/oidc/authenticate/"):
    """Follow the redirects: us -> the provider's authorization -> our callback."""
    provider.next_person = person
    to_provider = client.get(start)
    assert to_provider.status_code == 302
    assert to_provider["Location"].startswith(f"{provider.issuer}/authorize?")
    back = requests.get(to_provider["Location"], allow_redirects=False, timeout=10)
    assert back.status_code == 302
    callback = urlsplit(back.headers["Location"])
    assert (callback.netloc, callback.path) == ("testserver", "/oidc/callback/")
    return client.get(f"{callback.path}?{callback.query}")


def logged_in_as(client: Client):
    return User.objects.filter(pk=client.session.get("_auth_user_id")).first()


def test_a_public_site_makes_a_member_and_knows_them_next_time(client, sso):
    response = sign_in(client, sso, ALICE)
    assert response.status_code == 302 and response["Location"] == "/"
    alice = logged_in_as(client)
    assert (alice.username, alice.email) == ("alice", "alice@lab.example.org")
    assert not alice.has_usable_password()
    identity = SingleSignOnIdentity.objects.get()
    assert (identity.user, identity.subject, identity.issuer) == (alice, "alice-42", sso.issuer)
    (token_request,) = sso.token_requests
    assert token_request["redirect_uri"] == "http://testserver/oidc/callback/"

    other = Client()
    sign_in(other, sso, {**ALICE, "email": "alice@elsewhere.example", "name": "Alice L."})
    assert logged_in_as(other) == alice  # the same `sub`, whatever the address now
    assert User.objects.count() == 1
    identity.refresh_from_db()
    assert identity.name == "Alice L."


def test_a_verified_address_links_the_existing_member(client, sso):
    member = User.objects.create_user("alice-l", "Alice@Lab.example.org")
    sign_in(client, sso, ALICE)
    assert logged_in_as(client) == member
    assert SingleSignOnIdentity.objects.get().user == member

    unverified = Client()
    sign_in(unverified, sso, {**ALICE, "sub": "someone-else", "email_verified": False})
    stranger = logged_in_as(unverified)
    assert stranger != member and stranger.email == ""  # an unproven address is not kept


def test_a_private_site_takes_new_members_by_invitation_only(client, sso, settings, moderator):
    settings.PRIVATE = True
    refused = sign_in(client, sso, CARBERRY)
    assert refused["Location"] == "/accounts/login/?sso=failed"
    assert logged_in_as(client) is None
    page = client.get(refused["Location"])
    assert "membership is by invitation" in page.content.decode()
    assert not User.objects.filter(sso_identities__subject=ORCID_ID).exists()

    row, secret = invitations.create(moderator)
    invited = Client()
    assert "Join with ORCID" in invited.get(f"/accounts/invitation/{secret}").content.decode()
    sign_in(invited, sso, CARBERRY)
    josiah = logged_in_as(invited)
    assert josiah.username == "Josiah.Carberry"
    row.refresh_from_db()
    assert (row.state, row.used_by) == ("used", josiah)
    assert invited.get("/").status_code == 200

    # The used invitation makes no second member, even from the same browser.
    invited.logout()
    again = sign_in(invited, sso, {**CARBERRY, "sub": "0000-0001-0000-0000"})
    assert again["Location"] == "/accounts/login/?sso=failed"
    assert User.objects.filter(sso_identities__isnull=False).count() == 1


def test_allowed_domains_admit_their_verified_addresses_only(client, sso, settings):
    settings.PRIVATE = True
    settings.OIDC_ALLOWED_EMAIL_DOMAINS = ["lab.example.org"]
    sign_in(client, sso, ALICE)
    assert logged_in_as(client).email == "alice@lab.example.org"
    outsider = Client()
    response = sign_in(outsider, sso, {**ALICE, "sub": "bob", "email": "bob@example.com"})
    assert response["Location"] == "/accounts/login/?sso=failed"
    assert logged_in_as(outsider) is None


def test_an_orcid_name_matching_an_author_offers_the_claim(client, sso):
    author = Author.objects.create(name="Josiah Carberry")
    Author.objects.create(name="Josiah Carberry Jr")
    response = sign_in(client, sso, CARBERRY)
    assert response["Location"] == "/accounts/sso/authors"
    offer = client.get("/accounts/sso/authors")
    html = offer.content.decode()
    assert offer.status_code == 200
    assert html.count("Claim this author name") == 1
    assert f"Signed in with ORCID as {ORCID_ID}." in html

    claim_url = f"/authors/{author_slug(author)}/claim"
    assert claim_url in html
    client.post(claim_url, {"message": f"Signed in with ORCID as {ORCID_ID}."})
    claim = AuthorClaim.objects.get()
    assert (claim.author, claim.user, claim.status) == (author, logged_in_as(client), "pending")
    assert ORCID_ID in claim.message

    # Offered once: the next sign-in goes straight to the site.
    client.logout()
    assert sign_in(client, sso, CARBERRY)["Location"] == "/"


def test_passwords_can_be_turned_off(client, sso, settings):
    settings.PASSWORD_LOGIN = False
    User.objects.create_user("ada", "ada@example.org", "correct-horse-battery")
    page = client.get("/accounts/login/").content.decode()
    assert "Log in with ORCID" in page and 'name="password"' not in page
    refused = client.post(
        "/accounts/login/", {"username": "ada", "password": "correct-horse-battery"}
    )
    assert refused.status_code == 200 and logged_in_as(client) is None
    settings.PASSWORD_LOGIN = True
    client.post("/accounts/login/", {"username": "ada", "password": "correct-horse-battery"})
    assert logged_in_as(client).username == "ada"


def test_a_forged_or_failing_sign_in_is_refused_without_a_500(client, sso, settings):
    for forged in ({"aud": "another-client"}, {"iss": "http://127.0.0.1:1"}):
        response = sign_in(client, sso, {**ALICE, **forged})
        assert response["Location"] == "/accounts/login/?sso=failed", forged
        assert logged_in_as(client) is None
    # The provider is down.
    settings.OIDC_OP_TOKEN_ENDPOINT = "http://127.0.0.1:9/token"
    assert sign_in(client, sso, ALICE)["Location"] == "/accounts/login/?sso=failed"
    assert logged_in_as(client) is None
    assert not User.objects.exists()
    # Not set up at all: no such pages.
    settings.OIDC_RP_CLIENT_ID = ""
    assert client.get("/oidc/authenticate/").status_code == 404
    assert client.get("/oidc/callback/?code=x&state=y").status_code == 404
