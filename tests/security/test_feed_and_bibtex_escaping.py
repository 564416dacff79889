"""Text from sources (abstracts, titles, categories, DOIs) cannot become markup in a feed
reader or structure in a BibTeX file."""

from __future__ import annotations

import datetime as dt
from html.parser import HTMLParser

import bibtexparser
import feedparser
import pytest
from factories import list_paper, make_paper, make_user

from broadsheet.digests.subscribe import save_search
from broadsheet.search.indexing import index_papers

HOSTILE_ABSTRACT = (
    'Zebrafish <img src=x onerror="alert(1)"> <svg onload=alert(2)></svg> a<b and c>d & e.'
)
DAY = dt.date(2026, 6, 23)


class _Html(HTMLParser):
    """The elements and the text a reader gets from an item's HTML."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.text = ""

    def handle_starttag(self, tag, attrs) -> None:
        self.tags.append(tag)

    def handle_data(self, data) -> None:
        self.text += data


def rendered(entry) -> _Html:
    html = _Html()
    html.feed(entry.summary)
    html.close()
    return html


@pytest.fixture
def hostile(db):
    paper = make_paper(
        "Zebrafish a<b",
        arxiv_id="2606.00001",
        abstract=HOSTILE_ABSTRACT,
        categories=["cs.LG"],
        primary_category="cs.LG",
        published_at=dt.datetime(2026, 6, 22, tzinfo=dt.UTC),
    )
    list_paper(paper, DAY)
    index_papers([paper.pk])
    return paper


def feed_urls(client) -> list[str]:
    saved, _ = save_search(make_user("ada"), "zebrafish")
    urls = [
        "/feeds/daily.{}",
        "/feeds/trending.{}",
        "/feeds/category/cs.LG.{}",
        "/feeds/search.{}?q=zebrafish",
        f"/feeds/saved/{saved.feed_token}.{{}}",
    ]
    return [u.format(kind) for u in urls for kind in ("rss", "atom")]


def test_every_feed_carries_the_abstract_as_text(client, hostile):
    for url in feed_urls(client):
        response = client.get(url)
        assert response.status_code == 200, url
        feed = feedparser.parse(response.content)
        assert not feed.bozo, (url, feed.get("bozo_exception"))
        assert len(feed.entries) == 1, url
        html = rendered(feed.entries[0])
        assert html.tags == [], (url, html.tags)
        assert html.text == HOSTILE_ABSTRACT, url
        assert feed.entries[0].title == "Zebrafish a<b", url


# BibTeX ------------------------------------------------------------------------------------


def parse_bib(text: str):
    library = bibtexparser.parse_string(text)
    assert library.failed_blocks == [], [b.error for b in library.failed_blocks]
    return library


def test_hostile_values_stay_inside_their_fields(client, db):
    make_paper(
        "A } title}, url = {https://e.vil/} with \\ backslashes \\",
        arxiv_id="2606.00002",
        authors=["Eve } and Mallory", "Bob \\"],
        primary_category="cs.LG},url={https://e.vil/",
        doi="10.1234/x},url={https://e.vil/",
        journal_ref="J. {Evil",
        published_at=dt.datetime(2026, 6, 20, tzinfo=dt.UTC),
        abs_url="https://arxiv.org/abs/2606.00002}",
    )
    text = client.get("/papers/2606.00002.bib").content.decode()
    library = parse_bib(text)
    assert len(library.entries) == 1, text
    entry = library.entries[0]
    assert "e.vil" not in entry.fields_dict["url"].value
    assert [f.key for f in entry.fields].count("url") == 1
    assert "e.vil" not in text.replace(entry.fields_dict["title"].value, "")
    for field in entry.fields:  # balanced, and no field ends in a lone backslash
        value = field.value
        assert value.count("{") == value.count("}"), (field.key, value)
        assert not value.rstrip("}").endswith("\\"), (field.key, value)
    assert entry.fields_dict["author"].value.count(" and ") == 1


def test_an_arxiv_entry_is_complete(client, db):
    make_paper(
        "Attention is all you need",
        arxiv_id="2606.00003",
        authors=["Ada Lovelace", "Alan Turing"],
        primary_category="cs.CL",
        doi="10.1234/abc_def.5",
        published_at=dt.datetime(2026, 6, 20, tzinfo=dt.UTC),
    )
    library = parse_bib(client.get("/papers/2606.00003.bib").content.decode())
    assert len(library.entries) == 1
    fields = {f.key: f.value for f in library.entries[0].fields}
    assert fields == {
        "title": "{Attention is all you need}",
        "author": "Ada Lovelace and Alan Turing",
        "year": "2026",
        "eprint": "2606.00003",
        "archivePrefix": "arXiv",
        "primaryClass": "cs.CL",
        "doi": "10.1234/abc_def.5",
        "url": "https://arxiv.org/abs/2606.00003",
    }
