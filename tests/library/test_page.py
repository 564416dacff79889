"""/collections/import through Django's test client: the upload form, errors as 400 pages,
CSRF, the hourly limit, another Broadsheet's collection read through its API; and the
import-library command."""

from __future__ import annotations

import io

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.test import Client
from factories import make_paper, make_user

from broadsheet.papers import collections
from broadsheet.papers.models import Collection
from tests.ingest.conftest import Reply, ok

pytestmark = pytest.mark.django_db

BIB = b"""@article{a, title={Attention is all you need}, eprint={1706.03762}}
@book{b, title={A Book Nobody Has}}
"""


@pytest.fixture
def ada_client(db, settings):
    settings.LIBRARY_FETCH_MAX = 0  # nothing to fetch from arXiv here
    make_paper("Attention Is All You Need", arxiv_id="1706.03762")
    client = Client()
    client.force_login(make_user("ada"))
    return client


def upload(client, name: str, data: bytes):
    form = {"kind": "file", "file": SimpleUploadedFile(name, data)}
    return client.post("/collections/import", form)


def test_the_page_asks_for_a_login_and_says_keys_are_not_stored(client, ada_client):
    assert client.get("/collections/import").status_code == 302
    page = ada_client.get("/collections/import").content.decode()
    assert "your API key is used for this import only and is not stored" in page
    assert 'enctype="multipart/form-data"' in page and "csrfmiddlewaretoken" in page


def test_an_upload_shows_the_report_and_the_collection(ada_client):
    response = upload(ada_client, "mine.bib", BIB)
    page = response.content.decode()
    assert response.status_code == 200
    assert "<strong>2</strong> entries: <strong>1</strong> matched" in page
    assert "<li>A Book Nobody Has</li>" in page
    collection = Collection.objects.get(source="file:mine.bib")
    assert f'href="/collections/{collection.pk}">mine.bib</a>' in page
    assert upload(ada_client, "mine.bib", BIB).status_code == 200  # again: the same collection
    assert Collection.objects.count() == 1 and collection.items.count() == 1


@pytest.mark.parametrize(
    "name, data, message",
    [
        ("bad.bib", b"@misc{bad,\n title = {x", "line 1: cannot read"),
        ("bad.ris", b"TY  - JOUR\nTI  - x\n", "line 1: record not closed"),
        ("bad.bib", b"\xff\xfe@", "not UTF-8 text"),
        ("big.bib", b"@misc{a, title={x}}" + b" " * 300, "at most 200 are accepted"),
    ],
)
def test_bad_files_are_400_pages_naming_the_problem(ada_client, settings, name, data, message):
    settings.LIBRARY_MAX_BYTES = 200
    response = upload(ada_client, name, data)
    assert response.status_code == 400
    assert message in response.content.decode().replace("&#x27;", "'")
    assert not Collection.objects.exists()


def test_missing_fields_and_unknown_kinds_are_400(ada_client):
    assert ada_client.post("/collections/import", {"kind": "file"}).status_code == 400
    assert ada_client.post("/collections/import", {"kind": "x"}).status_code == 400
    response = ada_client.post("/collections/import", {"kind": "zotero", "library_id": "me"})
    assert response.status_code == 400
    assert "Give the Zotero user or group id" in response.content.decode()


def test_a_file_is_updated_only_by_uploading_it_again(ada_client):
    upload(ada_client, "mine.bib", BIB)
    mine = Collection.objects.get(source="file:mine.bib")
    response = ada_client.post("/collections/import", {"kind": "update", "collection": mine.pk})
    assert response.status_code == 400
    assert "A file is imported again by uploading it again." in response.content.decode()
    other = Collection.objects.create(owner=make_user("bob"), name="x", source="file:x")
    for pk in (other.pk, "x", "9" * 30):
        response = ada_client.post("/collections/import", {"kind": "update", "collection": pk})
        assert response.status_code == 400
        assert "No such imported collection of yours." in response.content.decode()


def test_csrf_and_the_hourly_limit(ada_client, settings):
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(get_user_model().objects.get(username="ada"))
    assert upload(strict, "mine.bib", BIB).status_code == 403
    settings.LIBRARY_IMPORTS_PER_HOUR = 1
    assert upload(ada_client, "mine.bib", BIB).status_code == 200
    assert upload(ada_client, "mine.bib", BIB).status_code == 429


def test_another_broadsheets_public_collection_through_its_api(ada_client, replay, settings):
    # The other site's answer is our own API's, for a public collection of another member.
    bob = make_user("bob")
    shared = collections.create(bob, "Bob's transformers", public=True)
    collections.add_paper(shared, make_paper("Attention Is All You Need 2", doi="10.1000/b2"))
    collections.add_paper(shared, make_paper("Unrelated", arxiv_id="2401.00002"))
    answer = Client().get(f"/api/v1/collections/{shared.pk}")
    assert answer.status_code == 200
    Collection.objects.filter(pk=shared.pk).delete()  # only the other site has it now
    replay.script("/api/v1/collections/12", *[ok(answer.content, "application/json")] * 2)
    address = replay.url("/collections/12")

    refused = ada_client.post("/collections/import", {"kind": "broadsheet", "url": address})
    assert refused.status_code == 400
    assert "is not a public address" in refused.content.decode()

    settings.LIBRARY_PRIVATE_HOSTS = True
    response = ada_client.post("/collections/import", {"kind": "broadsheet", "url": address})
    assert response.status_code == 200, response.content.decode()
    mine = Collection.objects.get(owner__username="ada")
    assert mine.name == f"Bob's transformers (127.0.0.1:{replay.port})"
    assert mine.source == f"broadsheet:{replay.url('/api/v1/collections/12')}"
    assert mine.items.count() == 2  # matched by DOI and by arXiv id
    update = ada_client.post("/collections/import", {"kind": "update", "collection": mine.pk})
    assert update.status_code == 200
    assert "<strong>2</strong> matched" in update.content.decode()
    assert Collection.objects.filter(owner__username="ada").count() == 1
    replay.script("/api/v1/collections/13", Reply(404, b'{"detail": "Collection not found."}'))
    gone = ada_client.post(
        "/collections/import", {"kind": "broadsheet", "url": replay.url("/collections/13")}
    )
    assert gone.status_code == 400
    assert "has no public collection there (HTTP 404)" in gone.content.decode()
    # A redirect is not followed: it could lead past the address check.
    moved = {"Location": replay.url("/api/v1/collections/12")}
    replay.script("/api/v1/collections/14", Reply(302, b"", moved))
    redirected = ada_client.post(
        "/collections/import", {"kind": "broadsheet", "url": replay.url("/collections/14")}
    )
    assert redirected.status_code == 400
    assert "answered with a redirect (HTTP 302)" in redirected.content.decode()


def test_the_command_imports_for_a_member_and_names_errors(ada_client, tmp_path):
    path = tmp_path / "lab.bib"
    path.write_bytes(BIB)
    out = io.StringIO()
    call_command("import-library", "--user", "ada", str(path), stdout=out)
    lines = out.getvalue().splitlines()
    assert lines[0] == "2 entries: 1 matched, 0 fetched from arXiv, 1 not found."
    assert lines[1] == "Collection “lab.bib”: 1 added, 0 removed (new)."
    assert lines[-2:] == ["Not found:", "  A Book Nobody Has"]
    with pytest.raises(CommandError, match="No member is called 'nobody'"):
        call_command("import-library", "--user", "nobody", str(path))
    with pytest.raises(CommandError, match="exactly one of FILE, --zotero or --broadsheet"):
        call_command("import-library", "--user", "ada", str(path), "--zotero", "user:1")
    path.write_bytes(b"@misc{x,\n title={")
    with pytest.raises(CommandError, match="No entry could be read: line 1"):
        call_command("import-library", "--user", "ada", str(path))
