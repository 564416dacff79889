"""Personal API tokens: made and revoked at /settings/tokens, shown once, stored hashed."""

from __future__ import annotations

import hashlib
import re

from factories import make_user

from broadsheet.api.models import ApiToken
from broadsheet.api.tokens import MAX_TOKENS_PER_MEMBER, create_token, find_token

from .conftest import bearer

TOKEN = re.compile(r"bsk_[0-9a-f]{12}_[A-Za-z0-9_\-]{43}")


def test_page_needs_a_login(client, db):
    response = client.get("/settings/tokens")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_created_token_is_shown_once_and_stored_hashed(client_member, member):
    response = client_member.post("/settings/tokens", {"name": "laptop", "scope": "write"})
    assert response.status_code == 200
    (token,) = TOKEN.findall(response.content.decode())
    assert "no-store" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]
    row = ApiToken.objects.get()
    assert row.user == member and row.scope == "write" and row.name == "laptop"
    assert row.digest == hashlib.sha256(token.encode()).hexdigest()
    assert token not in str(ApiToken.objects.values().get())  # only the digest is stored
    again = client_member.get("/settings/tokens").content.decode()
    assert token not in again and f"bsk_{row.prefix}_" in again  # listed, never shown again
    assert client_member.get("/api/v1/me", headers=bearer(token)).json()["scope"] == "write"


def test_revoking_stops_the_token_at_once(client_member, member):
    row, token = create_token(member, "ci", "read")
    response = client_member.post(f"/settings/tokens/{row.pk}/revoke")
    assert response.status_code == 302
    assert not ApiToken.objects.exists()
    assert client_member.get("/api/v1/me", headers=bearer(token)).status_code == 401


def test_members_cannot_revoke_each_others_tokens(client_member, db):
    other = make_user("bob")
    row, _ = create_token(other, "bob's", "write")
    assert client_member.post(f"/settings/tokens/{row.pk}/revoke").status_code == 404
    assert client_member.get(f"/settings/tokens/{row.pk}/revoke").status_code == 405
    assert ApiToken.objects.filter(pk=row.pk).exists()
    assert "bob&#x27;s" not in client_member.get("/settings/tokens").content.decode()


def test_bad_form_and_token_cap(client_member, member):
    assert client_member.post("/settings/tokens", {"name": "", "scope": "read"}).status_code == 400
    assert (
        client_member.post("/settings/tokens", {"name": "x", "scope": "admin"}).status_code == 400
    )
    for i in range(MAX_TOKENS_PER_MEMBER):
        create_token(member, f"t{i}")
    capped = client_member.post("/settings/tokens", {"name": "one more", "scope": "read"})
    assert capped.status_code == 400
    assert ApiToken.objects.count() == MAX_TOKENS_PER_MEMBER


def test_find_token_rejects_lookalikes(member):
    row, token = create_token(member, "t")
    assert find_token(token) == row
    assert find_token(token[:-1] + ("A" if token[-1] != "A" else "B")) is None
    assert find_token(token.replace("bsk_", "xyz_")) is None
    assert find_token(f"bsk_{row.prefix}") is None
    assert find_token("bsk_" + "a" * 500) is None


def test_last_used_is_recorded(client, member, read_token):
    assert ApiToken.objects.get().last_used is None
    client.get("/api/v1/papers", headers=bearer(read_token))
    assert ApiToken.objects.get().last_used is not None
