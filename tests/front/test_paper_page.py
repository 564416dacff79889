"""A paper's page, its BibTeX, and the actions on it: commenting and the upvote view."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from django.test import Client
from django.utils.html import strip_tags
from factories import make_comment, make_paper, make_user, upvote

from broadsheet.papers.models import Comment, Listing, Paper, Upvote

pytestmark = pytest.mark.django_db

JSON = {"HTTP_ACCEPT": "application/json"}


@pytest.fixture
def paper(db) -> Paper:
    grace = make_user("grace")
    paper = make_paper(
        "Attention Is All You Need",
        authors=["Ashish Vaswani", "Noam Shazeer", "Niki Parmar", "Jakob Uszkoreit", "Llion Jones"],
        arxiv_id="1706.03762",
        arxiv_version=7,
        abstract="The dominant sequence transduction models are based on complex recurrent "
        "or convolutional neural networks. " + "We keep going. " * 80 + "The very end.",
        published_at=dt.datetime(2017, 6, 12, tzinfo=dt.UTC),
        updated_at=dt.datetime(2023, 8, 2, tzinfo=dt.UTC),
        primary_category="cs.CL",
        categories=["cs.CL", "cs.LG"],
        abs_url="https://arxiv.org/abs/1706.03762",
        pdf_url="https://arxiv.org/pdf/1706.03762",
        github_repo="https://github.com/tensorflow/tensor2tensor",
        source_upvotes=5,
    )
    Listing.objects.create(
        paper=paper,
        day=dt.date(2026, 6, 23),
        submitted_by=grace,
        submitted_at=dt.datetime(2026, 6, 23, 9, tzinfo=dt.UTC),
    )
    return paper


# The page ----------------------------------------------------------------------------------


def test_paper_page_by_arxiv_id_shows_everything_about_the_paper(client, paper):
    response = client.get("/papers/1706.03762")

    assert response.status_code == 200
    text = response.content.decode()
    assert "<h1>Attention Is All You Need</h1>" in text
    assert "Ashish Vaswani, Noam Shazeer, Niki Parmar, Jakob Uszkoreit, Llion Jones" in strip_tags(
        text
    )
    assert "We keep going. " * 80 + "The very end." in text  # the full abstract
    assert "12 June 2017" in text and "2 August 2023" in text
    assert "1706.03762v7" in text
    assert "cs.CL, cs.LG" in text
    assert 'href="https://arxiv.org/abs/1706.03762"' in text
    assert 'href="https://arxiv.org/pdf/1706.03762"' in text
    assert 'href="https://github.com/tensorflow/tensor2tensor"' in text
    assert 'href="/papers/1706.03762.bib"' in text
    assert (
        "Published on arXiv 12 June 2017 (updated 2 August 2023) · "
        "Listed here by grace on 23 June 2026"
        in " ".join(strip_tags(re.sub(r"<svg.*?</svg>", "", text)).split())
    )
    assert 'href="/papers/date/2026-06-23">23 June 2026</a>' in text
    assert re.search(r'<a class="submitter" href="/u/grace"><svg class="avatar"', text)
    assert '<span class="vote-count">5</span>' in text


def test_paper_without_external_id_has_its_page_at_its_slug(client):
    make_paper("A paper with no arXiv id", slug="no-arxiv-id", author_count=3)

    response = client.get("/papers/no-arxiv-id")

    assert response.status_code == 200
    assert "A paper with no arXiv id" in response.content.decode()
    assert "3 authors (names not recorded)" in response.content.decode()


def test_paper_with_arxiv_id_asked_for_by_slug_redirects_to_its_arxiv_url(client, paper):
    response = client.get(f"/papers/{paper.slug}")

    assert response.status_code == 302
    assert response["Location"] == "/papers/1706.03762"


def test_old_style_arxiv_id_with_a_slash_has_a_page_bibtex_and_upvote(client_member):
    make_paper("Old style", arxiv_id="hep-th/9901001", primary_category="hep-th")

    page = client_member.get("/papers/hep-th/9901001")
    bib = client_member.get("/papers/hep-th/9901001.bib")
    vote = client_member.post("/papers/hep-th/9901001/upvote", **JSON)

    assert page.status_code == 200
    assert "<h1>Old style</h1>" in page.content.decode()
    assert 'action="/papers/hep-th/9901001/upvote"' in page.content.decode()
    assert "eprint = {hep-th/9901001}" in bib.content.decode()
    assert vote.json() == {"upvoted": True, "votes": 1}


def test_versioned_arxiv_id_redirects_to_the_versionless_page(client, paper):
    response = client.get("/papers/1706.03762v2")

    assert response.status_code == 302
    assert response["Location"] == "/papers/1706.03762"
    assert client.get("/papers/1706.03762v2", follow=True).status_code == 200


def test_versioned_old_style_id_redirects_too(client):
    make_paper("Old style", arxiv_id="hep-th/9901001")

    response = client.get("/papers/hep-th/9901001v3")

    assert response.status_code == 302
    assert response["Location"] == "/papers/hep-th/9901001"


def test_hidden_paper_has_no_page_and_no_bibtex(client, paper):
    Paper.objects.filter(pk=paper.pk).update(hidden=True)

    assert client.get("/papers/1706.03762").status_code == 404
    assert client.get("/papers/1706.03762.bib").status_code == 404


def test_paper_with_a_hidden_listing_keeps_its_page_but_not_the_listing(client, paper):
    Listing.objects.filter(paper=paper).update(hidden=True)

    response = client.get("/papers/1706.03762")

    assert response.status_code == 200
    assert "Listed" not in response.content.decode()


def test_paper_page_shows_visible_comments_oldest_first(client, paper):
    grace = make_user("hopper")
    t = dt.datetime(2026, 6, 23, 10, tzinfo=dt.UTC)
    make_comment(paper, grace, "Second thought", created=t + dt.timedelta(minutes=5))
    make_comment(paper, grace, "First thought", created=t)
    make_comment(paper, grace, "Spam spam spam", hidden=True)

    text = client.get("/papers/1706.03762").content.decode()

    assert "2 comments" in text
    assert text.index("First thought") < text.index("Second thought")
    assert "Spam spam spam" not in text
    assert re.search(r'href="/u/hopper"><svg class="avatar"[^>]*>.*?</svg>hopper</a>', text)


# BibTeX ------------------------------------------------------------------------------------


def test_bibtex_is_served_as_bibtex_with_the_title_in_braces(client, paper):
    response = client.get("/papers/1706.03762.bib")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/x-bibtex; charset=utf-8"
    text = response.content.decode()
    assert text.startswith("@misc{vaswani2017attention_170603762,\n")
    assert "  title = {{Attention Is All You Need}},\n" in text
    assert "  year = {2017},\n" in text
    assert "  eprint = {1706.03762},\n" in text
    assert "  archivePrefix = {arXiv},\n" in text
    assert "  primaryClass = {cs.CL},\n" in text
    assert text.rstrip().endswith("}")


def test_bibtex_joins_authors_with_and(client, paper):
    text = client.get("/papers/1706.03762.bib").content.decode()

    assert (
        "  author = {Ashish Vaswani and Noam Shazeer and Niki Parmar and Jakob Uszkoreit"
        " and Llion Jones},\n" in text
    )


def test_bibtex_escapes_latex_specials_outside_math_only(client):
    make_paper(
        "R&D at 100% with C# and snake_case: the $x_1 \\& y_2$ case",
        arxiv_id="2401.01234",
        authors=["Jean_Luc Picard & Co"],
    )

    text = client.get("/papers/2401.01234.bib").content.decode()

    assert r"title = {{R\&D at 100\% with C\# and snake\_case: the $x_1 \& y_2$ case}}" in text
    assert r"author = {Jean\_Luc Picard \& Co}" in text


def test_bibtex_by_slug_for_a_paper_without_arxiv_id(client):
    make_paper("No id here", slug="no-id-here", project_url="https://example.org/p")

    response = client.get("/papers/no-id-here.bib")

    assert response.status_code == 200
    assert "title = {{No id here}}" in response.content.decode()
    assert "url = {https://example.org/p}" in response.content.decode()


# Comments ----------------------------------------------------------------------------------


def test_member_posts_a_comment_and_sees_it_on_the_page(client_member, member, paper):
    response = client_member.post("/papers/1706.03762/comment", {"body": "  Great paper.  "})

    assert response.status_code == 302
    comment = Comment.objects.get()
    assert response["Location"] == f"/papers/1706.03762#c-{comment.pk}"
    assert (comment.user, comment.paper, comment.body) == (member, paper, "Great paper.")
    text = client_member.get("/papers/1706.03762").content.decode()
    assert "Great paper." in text
    assert "Comment posted." in text


def test_comment_markup_is_escaped_and_markdown_rendered(client_member, paper):
    body = '<script>alert("x")</script> <b>bold</b> <a href="javascript:x">link</a>\n\n**next**'
    client_member.post("/papers/1706.03762/comment", {"body": body})

    text = client_member.get("/papers/1706.03762").content.decode()

    assert "<script>alert" not in text
    assert "&lt;script&gt;alert(" in text
    assert "&lt;b&gt;bold&lt;/b&gt;" in text
    assert '<a href="javascript:x">' not in text
    assert "<strong>next</strong>" in text


def test_blank_comment_is_refused(client_member, paper):
    response = client_member.post("/papers/1706.03762/comment", {"body": "   \n "})

    assert response.status_code == 400
    assert "Write something first." in response.content.decode()
    assert not Comment.objects.exists()


def test_anonymous_comment_goes_to_login_and_stores_nothing(client, paper):
    response = client.post("/papers/1706.03762/comment", {"body": "Hello"})

    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=%2Fpapers%2F1706.03762"
    assert not Comment.objects.exists()


def test_anonymous_visitor_sees_a_login_link_instead_of_the_comment_form(client, paper):
    text = client.get("/papers/1706.03762").content.decode()

    assert 'class="comment-form"' not in text
    assert 'href="/accounts/login/?next=/papers/1706.03762">Log in</a> to comment' in text


def test_comment_on_a_hidden_paper_is_404(client_member, paper):
    Paper.objects.filter(pk=paper.pk).update(hidden=True)

    response = client_member.post("/papers/1706.03762/comment", {"body": "Hello"})

    assert response.status_code == 404
    assert not Comment.objects.exists()


# The upvote view ---------------------------------------------------------------------------


def test_json_upvote_toggles_and_returns_the_new_count(client_member, member, paper):
    first = client_member.post("/papers/1706.03762/upvote", **JSON)
    second = client_member.post("/papers/1706.03762/upvote", **JSON)

    assert first.status_code == 200
    assert first.json() == {"upvoted": True, "votes": 6}
    assert second.json() == {"upvoted": False, "votes": 5}
    assert not Upvote.objects.filter(user=member).exists()


def test_json_upvote_counts_other_members_votes(client_member, paper):
    upvote(make_user(), paper)

    assert client_member.post("/papers/1706.03762/upvote", **JSON).json() == {
        "upvoted": True,
        "votes": 7,
    }


def test_form_upvote_redirects_back_to_next(client_member, member, paper):
    response = client_member.post(
        "/papers/1706.03762/upvote", {"next": "/papers/date/2026-06-23?page=2"}
    )

    assert response.status_code == 302
    assert response["Location"] == "/papers/date/2026-06-23?page=2"
    assert Upvote.objects.filter(user=member, paper=paper).exists()


def test_form_upvote_falls_back_to_the_referer_of_this_site(client_member, paper):
    response = client_member.post(
        "/papers/1706.03762/upvote", HTTP_REFERER="http://testserver/papers/trending"
    )

    assert response["Location"] == "http://testserver/papers/trending"


@pytest.mark.parametrize(
    "next_url",
    ["https://evil.example/", "//evil.example/", "http://evil.example/papers", "javascript:x"],
)
def test_form_upvote_never_redirects_off_site(client_member, paper, next_url):
    response = client_member.post(
        "/papers/1706.03762/upvote", {"next": next_url}, HTTP_REFERER="https://evil.example/"
    )

    assert response.status_code == 302
    assert response["Location"] == "/papers/1706.03762"


def test_anonymous_form_upvote_goes_to_login_with_next(client, paper):
    response = client.post("/papers/1706.03762/upvote", {"next": "/papers/date/2026-06-23"})

    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=%2Fpapers%2Fdate%2F2026-06-23"
    assert not Upvote.objects.exists()


def test_anonymous_json_upvote_is_401_with_a_login_url(client, paper):
    response = client.post("/papers/1706.03762/upvote", {"next": "/"}, **JSON)

    assert response.status_code == 401
    assert response.json() == {"error": "Log in to vote.", "login_url": "/accounts/login/?next=%2F"}
    assert not Upvote.objects.exists()


def test_upvote_by_get_is_not_allowed(client_member, paper):
    response = client_member.get("/papers/1706.03762/upvote")

    assert response.status_code == 405
    assert not Upvote.objects.exists()


def test_upvote_without_csrf_token_is_forbidden(member, paper):
    client = Client(enforce_csrf_checks=True)
    client.force_login(member)

    response = client.post("/papers/1706.03762/upvote", **JSON)

    assert response.status_code == 403
    assert not Upvote.objects.exists()


def test_upvote_with_csrf_token_from_the_page_is_accepted(member, paper):
    client = Client(enforce_csrf_checks=True)
    client.force_login(member)
    client.get("/papers/1706.03762")
    token = client.cookies["csrftoken"].value

    response = client.post("/papers/1706.03762/upvote", HTTP_X_CSRFTOKEN=token, **JSON)

    assert response.status_code == 200
    assert Upvote.objects.filter(user=member, paper=paper).exists()


def test_voting_too_fast_is_429_with_retry_after(client_member, paper, settings):
    settings.VOTES_PER_MINUTE = 2
    url = "/papers/1706.03762/upvote"
    assert client_member.post(url, **JSON).status_code == 200
    assert client_member.post(url, **JSON).status_code == 200

    as_json = client_member.post(url, **JSON)
    as_form = client_member.post(url, {"next": "/"})

    assert as_json.status_code == 429
    assert as_json["Retry-After"] == "60"
    assert "too fast" in json.loads(as_json.content)["error"]
    assert as_form.status_code == 429
    assert as_form["Retry-After"] == "60"
    assert not Upvote.objects.exists()  # voted, withdrew, then refused


def test_upvote_on_unknown_or_hidden_paper_is_404(client_member, paper):
    Paper.objects.filter(pk=paper.pk).update(hidden=True)

    assert client_member.post("/papers/1706.03762/upvote", **JSON).status_code == 404
    assert client_member.post("/papers/9999.99999/upvote", **JSON).status_code == 404
    assert not Upvote.objects.exists()


def test_upvote_of_a_versioned_id_votes_for_the_paper(client_member, paper):
    response = client_member.post("/papers/1706.03762v7/upvote", **JSON)

    assert response.json() == {"upvoted": True, "votes": 6}
