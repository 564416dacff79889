"""Collections on the HTML side: creating, renaming, deleting, making public, adding and
removing papers (with and without JavaScript's JSON), BibTeX, and who may see what."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from factories import make_listing, make_paper, make_user

from broadsheet.papers import collections as rules
from broadsheet.papers.models import Collection, CollectionItem

pytestmark = pytest.mark.django_db

JSON = {"HTTP_ACCEPT": "application/json"}
DAY = dt.date(2026, 6, 23)


@pytest.fixture
def ada(db):
    return make_user("ada")


@pytest.fixture
def bob(db):
    return make_user("bob")


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def paper(db):
    return make_paper(
        "Attention Is All You Need",
        authors=["Ashish Vaswani", "Noam Shazeer"],
        arxiv_id="1706.03762",
        published_at=dt.datetime(2017, 6, 12, tzinfo=dt.UTC),
        abs_url="https://arxiv.org/abs/1706.03762",
    )


def test_member_creates_a_collection_and_sees_it_listed(ada):
    client = logged_in(ada)
    response = client.post("/collections/new", {"name": "  To   read  "})
    collection = Collection.objects.get(owner=ada)
    assert collection.name == "To read" and not collection.public
    assert response.status_code == 302 and response["Location"] == f"/collections/{collection.pk}"
    page = client.get("/collections").content.decode()
    assert "To read" in page and "0 papers" in page and "private" in page


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("x" * 101, "at most 100 characters (this one has 101)"),
        ("   ", "Give the collection a name."),
    ],
)
def test_bad_names_are_refused_with_a_message(ada, name, message):
    response = logged_in(ada).post("/collections/new", {"name": name})
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Collection.objects.exists()


def test_a_name_is_unique_per_member_whatever_the_case(ada, bob):
    rules.create(ada, "Reading")
    response = logged_in(ada).post("/collections/new", {"name": "reading"})
    assert response.status_code == 400
    assert "already have a collection called" in response.content.decode()
    assert logged_in(bob).post("/collections/new", {"name": "Reading"}).status_code == 302


def test_add_and_remove_a_paper_with_json_and_without(ada, paper):
    collection = rules.create(ada, "Transformers")
    client = logged_in(ada)
    url = f"/collections/{collection.pk}/papers"

    response = client.post(url, {"paper": paper.ref, "action": "add"}, **JSON)
    assert response.json() == {
        "collection": collection.pk,
        "name": "Transformers",
        "inCollection": True,
    }
    # Adding twice changes nothing.
    client.post(url, {"paper": paper.ref, "action": "add"}, **JSON)
    assert CollectionItem.objects.filter(collection=collection).count() == 1

    response = client.post(url, {"paper": paper.ref, "action": "remove", "next": "/"})
    assert response.status_code == 302 and response["Location"] == "/"
    assert not CollectionItem.objects.exists()


def test_create_and_save_from_a_card(ada, paper):
    response = logged_in(ada).post(
        "/collections/new", {"name": "Later", "paper": paper.ref, "next": "/papers/trending"}
    )
    assert response["Location"] == "/papers/trending"
    assert list(Collection.objects.get(name="Later").papers.all()) == [paper]


def test_rename_publish_and_delete(ada, paper):
    collection = rules.create(ada, "Old name")
    client = logged_in(ada)
    edit = f"/collections/{collection.pk}/edit"
    assert client.post(edit, {"name": "New name"}).status_code == 302
    assert client.post(edit, {"public": "true"}).status_code == 302
    collection.refresh_from_db()
    assert (collection.name, collection.public) == ("New name", True)

    response = client.post(edit, {"name": "y" * 300})
    assert response.status_code == 400
    assert "at most 100 characters" in response.content.decode()
    collection.refresh_from_db()
    assert collection.name == "New name"

    assert client.post(f"/collections/{collection.pk}/delete").status_code == 302
    assert not Collection.objects.exists()


def test_the_page_and_bibtex_of_a_collection(ada, paper):
    collection = rules.create(ada, "Attention & co", public=True)
    rules.add_paper(collection, paper)
    rules.add_paper(collection, make_paper("Hidden one", hidden=True))
    page = Client().get(f"/collections/{collection.pk}").content.decode()
    assert "Attention &amp; co" in page and "Attention Is All You Need" in page
    assert "Hidden one" not in page and "1 paper" in page

    response = Client().get(f"/collections/{collection.pk}.bib")
    assert response["Content-Type"].startswith("application/x-bibtex")
    bib = response.content.decode()
    assert bib.count("@misc{") == 1
    assert "eprint = {1706.03762}" in bib and "Vaswani and Noam Shazeer" in bib


def test_nobody_reads_or_changes_another_members_private_collection(ada, bob, paper):
    private = rules.create(ada, "Secret")
    public = rules.create(ada, "Open", public=True)
    rules.add_paper(private, paper)
    other, anonymous = logged_in(bob), Client()
    for client in (other, anonymous):
        assert client.get(f"/collections/{private.pk}").status_code == 404
        assert client.get(f"/collections/{private.pk}.bib").status_code == 404
    assert anonymous.get(f"/collections/{public.pk}").status_code == 200
    assert other.get(f"/collections/{public.pk}").status_code == 200
    # Bob can change neither, public or not.
    for collection in (private, public):
        pk = collection.pk
        assert other.post(f"/collections/{pk}/edit", {"name": "Mine"}).status_code == 404
        assert other.post(f"/collections/{pk}/delete").status_code == 404
        response = other.post(f"/collections/{pk}/papers", {"paper": paper.ref, "action": "remove"})
        assert response.status_code == 404
    # Anonymous visitors are sent to log in.
    assert anonymous.post(f"/collections/{private.pk}/delete").status_code == 302
    assert set(Collection.objects.values_list("name", flat=True)) == {"Secret", "Open"}
    assert private.papers.count() == 1
    # The owner still sees both.
    assert logged_in(ada).get(f"/collections/{private.pk}").status_code == 200


@pytest.mark.parametrize(
    "url", ["/collections/999999", "/collections/99999999999999999999", "/collections/abc"]
)
def test_bad_collection_ids_are_404(ada, url):
    assert logged_in(ada).get(url).status_code == 404


def test_bad_paper_or_action_is_refused(ada, paper):
    collection = rules.create(ada, "List")
    client = logged_in(ada)
    url = f"/collections/{collection.pk}/papers"
    assert client.post(url, {"paper": "9999.99999", "action": "add"}).status_code == 404
    response = client.post(url, {"paper": paper.ref, "action": "explode"}, **JSON)
    assert response.status_code == 400 and "add or remove" in response.json()["error"]
    assert client.get(url).status_code == 405
    assert not CollectionItem.objects.exists()


def test_cards_and_paper_page_offer_the_member_collections(ada, paper):
    listing = make_listing(DAY, "On the feed")
    collection = rules.create(ada, "Favourites")
    rules.add_paper(collection, listing.paper)
    client = logged_in(ada)
    home = client.get("/").content.decode()
    assert 'class="collect"' in home and "Favourites" in home and "Saved" in home
    assert 'aria-pressed="true"' in home
    page = client.get(paper.get_absolute_url()).content.decode()
    assert "Favourites" in page and 'value="add"' in page
    assert 'class="collect"' not in Client().get("/").content.decode()


def test_search_hits_offer_the_save_menu(ada, paper):
    from broadsheet.search.indexing import index_papers

    index_papers([paper.pk])
    collection = rules.create(ada, "Found")
    rules.add_paper(collection, paper)
    page = logged_in(ada).get("/search?q=attention+is+all").content.decode()
    assert 'class="card search-hit"' in page
    assert "Found" in page and 'aria-pressed="true"' in page


def test_profile_shows_public_collections_only(ada, bob, paper):
    reading = rules.create(ada, "Reading group", public=True)
    rules.add_paper(reading, paper)
    rules.create(ada, "Secret plans")
    for client in (Client(), logged_in(bob), logged_in(ada)):
        page = client.get("/u/ada").content.decode()
        assert f'href="/collections/{reading.pk}">Reading group</a>' in page
        assert "1 paper" in page
        assert "Secret plans" not in page
