"""/api/v1/collections: listing, creating, renaming, publishing, deleting, adding and removing
papers, with token scopes, and two members who must not see each other's private lists."""

from __future__ import annotations

import pytest
from factories import make_paper, make_user

from broadsheet.api.tokens import create_token
from broadsheet.papers import collections as rules
from broadsheet.papers.models import Collection

from .conftest import bearer


@pytest.fixture
def paper(db):
    return make_paper("Collectable", arxiv_id="2606.00042", authors=["Ada Lovelace"])


@pytest.fixture
def bob_token(db) -> str:
    return create_token(make_user("bob"), "bob's", "write")[1]


def test_create_list_rename_publish_and_delete(client, member, write_token):
    auth = bearer(write_token)
    created = client.post(
        "/api/v1/collections", {"name": "To read"}, content_type="application/json", headers=auth
    )
    assert created.status_code == 201
    body = created.json()
    assert body["name"] == "To read" and body["public"] is False and body["paperCount"] == 0
    assert body["owner"]["username"] == "ada"
    assert body["url"].endswith(f"/collections/{body['id']}")
    assert body["bibtexUrl"].endswith(f"/collections/{body['id']}.bib")

    url = f"/api/v1/collections/{body['id']}"
    patched = client.patch(
        url, {"name": "Read next", "public": True}, content_type="application/json", headers=auth
    )
    assert patched.status_code == 200
    assert (patched.json()["name"], patched.json()["public"]) == ("Read next", True)
    assert [c["name"] for c in client.get("/api/v1/collections", headers=auth).json()] == [
        "Read next"
    ]

    assert client.delete(url, headers=auth).status_code == 204
    assert not Collection.objects.exists()
    assert client.delete(url, headers=auth).status_code == 404


def test_add_and_remove_papers(client, member, write_token, paper):
    auth = bearer(write_token)
    collection = rules.create(member, "List")
    url = f"/api/v1/collections/{collection.pk}/papers/2606.00042v2"
    first = client.put(url, headers=auth)
    assert first.json() == {
        "collection": collection.pk,
        "paper": "2606.00042",
        "inCollection": True,
        "changed": True,
    }
    assert client.put(url, headers=auth).json()["changed"] is False
    detail = client.get(f"/api/v1/collections/{collection.pk}", headers=auth).json()
    assert detail["paperCount"] == 1
    assert [p["id"] for p in detail["papers"]] == ["2606.00042"]
    assert detail["papers"][0]["authors"] == ["Ada Lovelace"]

    removed = client.delete(url, headers=auth)
    assert removed.json()["inCollection"] is False and removed.json()["changed"] is True
    assert not collection.papers.exists()
    missing = client.put(f"/api/v1/collections/{collection.pk}/papers/9999.99999", headers=auth)
    assert missing.status_code == 404 and missing.json() == {"error": "Paper not found."}


def test_scopes_read_token_lists_and_reads_but_cannot_write(client, member, read_token, paper):
    collection = rules.create(member, "Private")
    auth = bearer(read_token)
    assert client.get("/api/v1/collections", headers=auth).json()[0]["name"] == "Private"
    assert client.get(f"/api/v1/collections/{collection.pk}", headers=auth).status_code == 200
    for response in (
        client.post(
            "/api/v1/collections", {"name": "x"}, content_type="application/json", headers=auth
        ),
        client.delete(f"/api/v1/collections/{collection.pk}", headers=auth),
        client.put(f"/api/v1/collections/{collection.pk}/papers/2606.00042", headers=auth),
    ):
        assert response.status_code == 403 and "read scope" in response.json()["error"]
    assert Collection.objects.count() == 1 and not collection.papers.exists()


def test_anonymous_reads_public_lists_only(client, member, paper):
    private = rules.create(member, "Private")
    public = rules.create(member, "Public", public=True)
    assert client.get("/api/v1/collections").status_code == 401
    assert client.get(f"/api/v1/collections/{public.pk}").json()["name"] == "Public"
    response = client.get(f"/api/v1/collections/{private.pk}")
    assert response.status_code == 404 and response.json() == {"error": "Collection not found."}
    assert (
        client.post(
            "/api/v1/collections", {"name": "x"}, content_type="application/json"
        ).status_code
        == 401
    )


def test_another_member_can_neither_read_a_private_list_nor_change_any(
    client, member, bob_token, paper
):
    private = rules.create(member, "Private")
    public = rules.create(member, "Public", public=True)
    rules.add_paper(private, paper)
    auth = bearer(bob_token)
    assert client.get("/api/v1/collections", headers=auth).json() == []
    assert client.get(f"/api/v1/collections/{private.pk}", headers=auth).status_code == 404
    assert client.get(f"/api/v1/collections/{public.pk}", headers=auth).status_code == 200
    for collection in (private, public):
        url = f"/api/v1/collections/{collection.pk}"
        assert (
            client.patch(
                url, {"name": "Bob's now"}, content_type="application/json", headers=auth
            ).status_code
            == 404
        )
        assert client.delete(url, headers=auth).status_code == 404
        assert client.delete(f"{url}/papers/2606.00042", headers=auth).status_code == 404
    assert sorted(Collection.objects.values_list("name", flat=True)) == ["Private", "Public"]
    assert private.papers.count() == 1


def test_bad_input_is_a_clear_4xx(client, member, write_token):
    auth = bearer(write_token)
    rules.create(member, "Taken")

    def post(payload):
        return client.post(
            "/api/v1/collections", payload, content_type="application/json", headers=auth
        )

    long = post({"name": "x" * 101})
    assert long.status_code == 400 and "name" in long.json()["error"]
    assert "at most 100 characters" in long.json()["error"]
    blank = post({"name": "   "})
    assert blank.status_code == 400 and blank.json() == {"error": "Give the collection a name."}
    taken = post({"name": "taken"})
    assert taken.status_code == 409 and "already have" in taken.json()["error"]
    assert post({}).status_code == 400
    for bad in ("/api/v1/collections/0", "/api/v1/collections/99999999999999999999999"):
        assert client.get(bad, headers=auth).status_code in {400, 404}
    assert client.get("/api/v1/collections/abc", headers=auth).status_code == 400
    assert Collection.objects.count() == 1
