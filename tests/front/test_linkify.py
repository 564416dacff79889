"""Bare URLs in abstracts and comments become links; nothing else does, and nothing unescaped."""

from __future__ import annotations

import re

import pytest
from factories import make_comment, make_paper, make_user

from broadsheet.front.linkify import linkify
from broadsheet.front.markdown import render

pytestmark = pytest.mark.django_db

ABSTRACT = (
    "We release code at https://github.com/a/b (see https://example.org/x?y=1&z=2). "
    "Do not follow javascript:alert(1) or data:text/html,<script>alert(2)</script>; "
    "e.g. example.com is just a word."
)


def test_http_urls_become_nofollow_links_with_escaped_text_around_them():
    html = str(linkify(ABSTRACT))

    assert (
        '<a href="https://github.com/a/b" rel="nofollow noopener">https://github.com/a/b</a>'
        in html
    )
    # The closing parenthesis and the full stop stay outside the link; & is escaped.
    assert (
        '(see <a href="https://example.org/x?y=1&amp;z=2" rel="nofollow noopener">'
        "https://example.org/x?y=1&amp;z=2</a>)." in html
    )
    assert html.count("<a ") == 2
    assert "javascript:alert(1)" in html and 'href="javascript' not in html
    assert "&lt;script&gt;" in html and "<script" not in html
    assert "e.g. example.com is just a word." in html


def test_a_url_that_tries_to_close_its_attribute_stays_inside_it():
    html = str(linkify('Look: https://example.org/"onmouseover="alert(1)'))

    # The quote is escaped inside the href: the tag has exactly its two attributes.
    [tag] = re.findall(r"<a [^>]*>", html)
    assert re.fullmatch(r'<a href="https://example\.org/[^"]*" rel="nofollow noopener">', tag)


def test_abstract_on_the_paper_page_is_linkified(client):
    paper = make_paper("Linked", abstract=ABSTRACT)

    text = client.get(paper.get_absolute_url()).content.decode()

    abstract = text.split('<p class="abstract-full">')[1].split("</p>")[0]
    assert abstract == str(linkify(ABSTRACT))
    assert '<a href="https://github.com/a/b" rel="nofollow noopener">' in abstract
    assert "javascript:" in abstract and 'href="javascript' not in abstract


def test_bare_urls_in_comments_become_links_but_not_javascript(client):
    paper = make_paper("Commented")
    make_comment(paper, make_user(), "See https://example.org/page and javascript:alert(1)")

    body = render("See https://example.org/page and javascript:alert(1)")

    assert (
        '<a href="https://example.org/page" rel="nofollow ugc noopener noreferrer">'
        "https://example.org/page</a>" in body
    )
    assert 'href="javascript' not in body
    assert body in client.get(paper.get_absolute_url()).content.decode()
