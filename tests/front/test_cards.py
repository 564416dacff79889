"""Paper cards: picture, links with stars, drawn avatars, the abstract in a <details>, and a
fixed number of SQL queries whatever the number of cards, on every page that shows them."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from factories import add_authors, make_comment, make_listing, make_paper, make_user

from broadsheet.front import page_cache
from broadsheet.front.avatars import avatar_svg, hue, initials
from broadsheet.front.cards import paper_links, thumbnail_src
from broadsheet.papers.models import Author, Collection, CollectionItem, Paper

pytestmark = pytest.mark.django_db

DAY = dt.date(2026, 6, 23)


def card_html(response, title: str) -> str:
    text = response.content.decode()
    [card] = [c for c in text.split('<article class="card')[1:] if title in c]
    return card.split("</article>")[0]


# Links and pictures ------------------------------------------------------------------------


def test_links_come_in_order_with_the_code_stars():
    paper = make_paper(
        abs_url="https://arxiv.org/abs/2606.00001",
        pdf_url="https://arxiv.org/pdf/2606.00001",
        github_repo="https://github.com/a/b",
        github_stars=1500,
        project_url="https://example.org/",
    )

    links = paper_links(paper)

    assert [(link.label, link.url) for link in links] == [
        ("arXiv", "https://arxiv.org/abs/2606.00001"),
        ("PDF", "https://arxiv.org/pdf/2606.00001"),
        ("Code", "https://github.com/a/b"),
        ("Project", "https://example.org/"),
    ]
    assert links[2].stars == 1500


def test_an_arxiv_paper_without_stored_urls_gets_them_from_its_id():
    links = paper_links(make_paper(arxiv_id="2606.01234"))

    assert [(link.label, link.url) for link in links] == [
        ("arXiv", "https://arxiv.org/abs/2606.01234"),
        ("PDF", "https://arxiv.org/pdf/2606.01234"),
    ]


def test_a_paper_with_nothing_known_has_no_links():
    assert paper_links(make_paper()) == []


def test_thumbnail_src_is_the_worker_made_file_only():
    paper = make_paper()
    own = f"/thumbnails/{paper.pk}.webp"
    for stored, src in [("", ""), (own, own), ("https://example.org/1.png", "")]:
        paper.thumbnail = stored
        assert thumbnail_src(paper) == src


def test_card_shows_the_picture_when_there_is_one_and_a_placeholder_otherwise(client):
    pictured = make_listing(DAY, "With picture").paper
    Paper.objects.filter(pk=pictured.pk).update(thumbnail=f"/thumbnails/{pictured.pk}.webp")
    make_listing(DAY, "Without picture", primary_category="cs.CL")

    response = client.get("/")

    with_picture = card_html(response, "With picture")
    assert re.search(
        rf'<img src="/thumbnails/{pictured.pk}\.webp" alt="" loading="lazy"', with_picture
    )
    assert "thumb-none" not in with_picture
    without = card_html(response, "Without picture")
    assert "<img" not in without
    assert '<span class="thumb-none">cs.CL</span>' in without


def test_card_keeps_the_abstract_and_keywords_in_a_closed_details(client):
    make_listing(
        DAY, "Folded", abstract="Word " * 100 + "END", ai_keywords=["diffusion", "attention"]
    )

    card = card_html(client.get("/"), "Folded")

    details = card.split('<details class="excerpt">')[1].split("</details>")[0]
    assert "<summary>Abstract</summary>" in details
    assert "Word Word" in details and "END" not in details  # the start only
    assert ">diffusion</a>" in details and ">attention</a>" in details


# Avatars -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "username, first, last, letters",
    [
        ("ada", "", "", "A"),
        ("grace_hopper", "", "", "GH"),
        ("x", "Alan Mathison", "Turing", "AT"),
        ("bob", "<b>", "", "B"),
        ("___", "", "", "?"),
    ],
)
def test_initials(username, first, last, letters):
    user = make_user(username, first_name=first, last_name=last)

    assert initials(user) == letters


def test_avatar_is_an_inline_svg_with_a_colour_from_the_username():
    ada, grace = make_user("ada"), make_user("grace")

    svg = str(avatar_svg(ada, 24))

    assert svg.startswith('<svg class="avatar" width="24" height="24"')
    assert f'fill="hsl({hue("ada")} 45% 33%)"' in svg
    assert ">A</text></svg>" in svg
    assert "href" not in svg and "url(" not in svg  # nothing fetched from anywhere
    assert hue("ada") == hue("ada") and hue("ada") != hue("grace")
    assert str(avatar_svg(grace)) != str(avatar_svg(make_user("grace2")))


def test_avatars_on_cards_comments_and_the_profile(client):
    ada = make_user("ada")
    listing = make_listing(DAY, "Submitted by Ada", submitted_by=ada)
    make_comment(listing.paper, ada, "A comment")

    assert '<svg class="avatar"' in card_html(client.get("/"), "Submitted by Ada")
    paper_page = client.get(listing.paper.get_absolute_url()).content.decode()
    comment = paper_page.split('class="comment-meta"')[1]
    assert comment.startswith('><a href="/u/ada"><svg class="avatar"')
    profile = client.get("/u/ada").content.decode()
    assert '<div class="member-head"><svg class="avatar" width="56"' in profile


# SQL queries -------------------------------------------------------------------------------


def busy_day(n: int) -> None:
    """`n` papers, each with its own submitter, six authors, a comment, a picture and stars."""
    for i in range(n):
        listing = make_listing(
            DAY,
            f"Busy {i}",
            votes=i,
            submitted_by=make_user(),
            github_repo=f"https://github.com/a/{i}",
            github_stars=i,
            ai_keywords=["a", "b"],
        )
        paper = listing.paper
        Paper.objects.filter(pk=paper.pk).update(thumbnail=f"/thumbnails/{paper.pk}.webp")
        add_authors(paper, [f"Author {j}" for j in range(6)])
        make_comment(listing.paper, make_user(), "hello")


def count_queries(client, url: str, cards: int) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    assert len(re.findall(r'<article class="card[ "]', response.content.decode())) == cards
    return len(queries)


@pytest.mark.parametrize("url", ["/", "/papers/date/2026-06-23", "/papers/trending?window=month"])
@pytest.mark.parametrize("logged_in", [False, True], ids=["anonymous", "member"])
def test_feed_queries_do_not_grow_with_cards_that_each_have_a_submitter(
    client, member, url, logged_in, settings
):
    settings.TRENDING_DAYS = 10_000  # the test's listings are months old
    if logged_in:
        client.force_login(member)
    busy_day(2)
    page_cache.version.refresh(0)  # a process's first look at the versions takes one query more
    few = count_queries(client, url, 2)

    busy_day(18)
    many = count_queries(client, url, 20)

    assert few == many


def test_author_page_queries_do_not_grow_with_cards(client):
    author = Author.objects.create(name="Ada Lovelace")

    def papers(n: int) -> None:
        for _ in range(n):
            listing = make_listing(DAY, submitted_by=make_user())
            add_authors(listing.paper, ["Ada Lovelace", "Grace Hopper"])
            make_comment(listing.paper, make_user())

    papers(2)
    few = count_queries(client, f"/authors/ada-lovelace-{author.pk}", 2)
    papers(10)
    many = count_queries(client, f"/authors/ada-lovelace-{author.pk}", 12)

    assert few == many


def test_collection_page_queries_do_not_grow_with_cards(client):
    owner = make_user("owner")
    collection = Collection.objects.create(owner=owner, name="Reading", public=True)

    def papers(n: int) -> None:
        for _ in range(n):
            listing = make_listing(DAY, submitted_by=make_user())
            add_authors(listing.paper, ["Ada Lovelace"])
            make_comment(listing.paper, make_user())
            CollectionItem.objects.create(collection=collection, paper=listing.paper)

    papers(2)
    few = count_queries(client, collection.get_absolute_url(), 2)
    papers(10)
    many = count_queries(client, collection.get_absolute_url(), 12)

    assert few == many
    text = client.get(collection.get_absolute_url()).content.decode()
    assert text.count("1 comment</a>") == 12
    assert text.count('<a class="submitter"') == 12
    assert text.count('<svg class="avatar"') == 12


def test_a_pick_whose_listing_is_hidden_shows_no_submitter_or_day(client):
    owner, spammer = make_user("owner"), make_user("spammer")
    collection = Collection.objects.create(owner=owner, name="Reading", public=True)
    listing = make_listing(DAY, "Kept paper", submitted_by=spammer, listing_hidden=True)
    CollectionItem.objects.create(collection=collection, paper=listing.paper)
    client.force_login(owner)

    card = card_html(client.get(collection.get_absolute_url()), "Kept paper")

    assert "spammer" not in card and "listed" not in card
