"""Zotero libraries through pyzotero against the replay server answering with recorded Zotero
API responses (tests/library/fixtures/zotero_*.json, with Zotero's paging headers)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from factories import make_paper, make_user

from broadsheet.library.entries import LibraryError
from broadsheet.library.imports import import_zotero
from broadsheet.library.zotero_library import ZoteroSource
from broadsheet.papers.models import Collection
from tests.ingest.conftest import Reply
from tests.library.test_import import ATOM

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).parent / "fixtures"
TOP = "/users/12345/items/top"
KEY = "P9xZotero4Key2Read0nly"


def recorded(name: str, headers: dict[str, str] | None = None) -> Reply:
    return Reply(200, (FIXTURES / name).read_bytes(), {
        "Content-Type": "application/json", "Zotero-API-Version": "3",
        "Last-Modified-Version": "812", **(headers or {}),
    })  # fmt: skip


@pytest.fixture
def zotero(settings, sources):
    settings.ZOTERO_API_URL = sources.url("")
    sources.script("/api/query", Reply(200, ATOM.encode()), query={"id_list": "2401.01234"})
    return sources


@pytest.fixture
def known(db):
    return [
        make_paper("Attention Is All You Need", arxiv_id="1706.03762"),
        make_paper("Something else", doi="10.1145/abc.123"),
    ]


def test_a_zotero_library_is_read_page_by_page_and_imported(zotero, known):
    # Zotero's Link header names api.zotero.org; pyzotero follows its path on our endpoint.
    nxt = "https://api.zotero.org/users/12345/items/top?format=json&limit=100&start=100"
    zotero.script(TOP, recorded("zotero_top_p1.json", {
        "Total-Results": "4", "Link": f'<{nxt}>; rel="next", <{nxt}>; rel="last"'}))  # fmt: skip
    zotero.script(TOP, recorded("zotero_top_p2.json", {"Total-Results": "4"}),
                  query={"start": "100"})  # fmt: skip
    ada = make_user("ada")
    report = import_zotero(ada, ZoteroSource.checked("user", "12345", KEY))

    assert (report.entries, report.matched, report.fetched, report.not_found) == (3, 2, 1, [])
    collection = report.collection
    assert collection.name == "Zotero user 12345"
    assert collection.source == "zotero:user:12345"  # never the key
    added = dict(collection.items.values_list("paper__title", "added"))
    assert added["Attention Is All You Need"] == dt.datetime(2023, 5, 10, 8, tzinfo=dt.UTC)
    asked = [r for r in zotero.requests if r.path == TOP]
    assert [r.query.get("start") for r in asked] == [None, "100"]
    assert all(r.headers["Authorization"] == f"Bearer {KEY}" for r in asked)
    assert asked[0].query["limit"] == "100"
    assert KEY not in str(list(Collection.objects.values()))


def test_a_zotero_collection_is_named_after_it(zotero, known):
    base = "/groups/777/collections/QW8ZB2TC"
    zotero.script(base, recorded("zotero_collection.json"))
    zotero.script(f"{base}/items/top", recorded("zotero_collection_items.json"))
    ada = make_user("ada")
    source = ZoteroSource.checked("group", "777", "", "qw8zb2tc")
    report = import_zotero(ada, source)
    assert report.collection.name == "Zotero: Interpretability"
    assert report.collection.source == "zotero:group:777:collection:QW8ZB2TC"
    assert (report.matched, report.fetched) == (1, 1)
    zotero.script(base, recorded("zotero_collection.json"))
    zotero.script(f"{base}/items/top", recorded("zotero_collection_items.json"))
    again = import_zotero(ada, source)
    assert again.collection.pk == report.collection.pk and again.added == 0
    assert "Authorization" not in zotero.requests[0].headers  # a public group: no key sent


@pytest.mark.parametrize(
    "reply, message",
    [
        (Reply(403, b"Forbidden"), "Zotero refused to show Zotero user library 12345"),
        (Reply(404, b"Not found"), "Zotero has no Zotero user library 12345."),
        (Reply(200, b"<html>", {"Content-Type": "application/json"}), "could not be read"),
    ],
)
def test_zotero_refusals_are_explained_without_the_key(zotero, reply, message):
    zotero.script(TOP, reply)
    with pytest.raises(LibraryError, match=message) as caught:
        import_zotero(make_user("ada"), ZoteroSource.checked("user", "12345", KEY))
    assert KEY not in str(caught.value)
    assert not Collection.objects.exists()


@pytest.mark.parametrize(
    "args, message",
    [
        (("user", "ada"), "Give the Zotero user or group id"),
        (("team", "1"), "either a user's or a group's"),
        (("user", "1", "key with spaces"), "not a Zotero API key"),
        (("user", "1", "", "ABC"), "collection key is 8 letters"),
    ],
)
def test_zotero_details_are_checked_before_asking(args, message):
    with pytest.raises(LibraryError, match=message):
        ZoteroSource.checked(*args)


def test_a_library_too_large_for_a_page_is_refused_whole(zotero, known):
    nxt = "https://api.zotero.org/users/12345/items/top?format=json&limit=100&start=100"
    zotero.script(TOP, recorded("zotero_top_p1.json", {"Link": f'<{nxt}>; rel="next"'}))
    with pytest.raises(LibraryError, match="too large to read while a page waits"):
        import_zotero(make_user("ada"), ZoteroSource.checked("user", "12345"), deadline=0.0)
    assert not Collection.objects.exists()


def test_a_kept_key_is_stored_encrypted_and_updates_with_one_click(zotero, known):
    from django.test import Client, override_settings

    from broadsheet.library.models import ZoteroKey
    from broadsheet.library.stored_keys import decrypt, encrypt

    base = "/users/12345/collections/QW8ZB2TC"
    zotero.script(base, *[recorded("zotero_collection.json")] * 2)
    zotero.script(f"{base}/items/top", *[recorded("zotero_collection_items.json")] * 2)
    client = Client()
    client.force_login(make_user("ada"))
    form = {"kind": "zotero", "library_type": "user", "library_id": "12345", "api_key": KEY,
            "collection": "QW8ZB2TC", "remember": "on"}  # fmt: skip
    assert client.post("/collections/import", form).status_code == 200
    kept = ZoteroKey.objects.get()
    assert KEY not in kept.encrypted and decrypt(kept.encrypted) == KEY
    assert "Zotero key kept" in client.get("/collections/import").content.decode()

    collection = kept.collection
    update = {"kind": "update", "collection": collection.pk}
    assert client.post("/collections/import", update).status_code == 200
    asked = [r for r in zotero.requests if r.path.startswith(base)]
    assert len(asked) == 4 and asked[-1].headers["Authorization"] == f"Bearer {KEY}"

    # A key kept under another secret key (the site's was changed since) cannot be read.
    with override_settings(SECRET_KEY="the-secret-key-before-a-rotation"):
        ZoteroKey.objects.update(encrypted=encrypt(KEY))
    response = client.post("/collections/import", update)
    assert response.status_code == 400
    assert "can no longer be read" in response.content.decode()

    forget = {"kind": "forget", "collection": collection.pk}
    assert client.post("/collections/import", forget).status_code == 200
    assert not ZoteroKey.objects.exists()
    # Without "remember", a key given is used once and a kept one forgotten.
    ZoteroKey.objects.create(collection=collection, encrypted="x")
    zotero.script(base, recorded("zotero_collection.json"))
    zotero.script(f"{base}/items/top", recorded("zotero_collection_items.json"))
    del form["remember"]
    assert client.post("/collections/import", form).status_code == 200
    assert not ZoteroKey.objects.exists()
