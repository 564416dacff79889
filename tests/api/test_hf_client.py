"""The Hugging Face-compatible endpoints, through the real huggingface_hub client.

Code written for huggingface.co's Papers API must work by changing only the endpoint.
"""

from __future__ import annotations

import datetime as dt

import pytest
from factories import list_paper, make_comment, make_paper, make_user
from huggingface_hub import HfApi
from huggingface_hub.errors import HfHubHTTPError
from huggingface_hub.utils import close_session

UTC = dt.UTC
DAY = dt.date(2026, 6, 23)


@pytest.fixture
def hf(live_server, monkeypatch):
    # The client would send a locally saved Hugging Face token; there must be none here.
    monkeypatch.setenv("HF_HUB_DISABLE_IMPLICIT_TOKEN", "1")
    yield HfApi(endpoint=live_server.url, token=False)
    # Its shared HTTP session keeps connections alive; the live server's thread then keeps
    # its database connection, and PostgreSQL cannot drop the test database at the end.
    close_session()


@pytest.fixture
def day_papers(transactional_db):
    alice = make_user("alice", first_name="Alice", last_name="Liddell")
    first = make_paper(
        "Attention is all you need, again",
        authors=["Ada Lovelace", "Alan Turing"],
        arxiv_id="2606.01234",
        published_at=dt.datetime(2026, 6, 20, 17, 30, tzinfo=UTC),
        github_repo="https://github.com/example/attention",
        github_stars=42,
        project_url="https://example.org/attention",
        source_upvotes=7,
    )
    second = make_paper(
        "Old-style identifiers still matter",
        authors=["Grace Hopper"],
        arxiv_id="hep-th/9901001",
        published_at=dt.datetime(1999, 1, 4, tzinfo=UTC),
        source_upvotes=3,
    )
    list_paper(
        first, DAY, submitted_by=alice, submitted_at=dt.datetime(2026, 6, 23, 8, 0, tzinfo=UTC)
    )
    list_paper(second, DAY, submitted_at=dt.datetime(2026, 6, 23, 9, 0, tzinfo=UTC))
    make_comment(first, alice, "Nice.")
    return first, second


def test_list_daily_papers_parses_every_field(hf, day_papers):
    first, _ = day_papers
    papers = list(hf.list_daily_papers(date="2026-06-23"))
    assert [p.id for p in papers] == ["hep-th/9901001", "2606.01234"]  # newest listing first
    p = papers[1]
    assert p.title == first.title
    assert p.summary == first.abstract
    assert [a.name for a in p.authors] == ["Ada Lovelace", "Alan Turing"]
    assert p.authors[0].hidden is False
    assert p.published_at == dt.datetime(2026, 6, 20, 17, 30, tzinfo=UTC)
    assert p.submitted_at == dt.datetime(2026, 6, 23, 8, 0, tzinfo=UTC)
    assert p.submitted_by.username == "alice"
    assert p.submitted_by.fullname == "Alice Liddell"
    assert p.upvotes == 7
    assert p.comments == 1
    assert p.github_repo == "https://github.com/example/attention"
    assert p.github_stars == 42
    assert p.project_page == "https://example.org/attention"
    assert papers[0].submitted_by is None  # imported, not submitted by a member


def test_week_month_submitter_and_sort(hf, day_papers):
    assert len(list(hf.list_daily_papers(week="2026-W26"))) == 2
    assert len(list(hf.list_daily_papers(month="2026-06"))) == 2
    assert list(hf.list_daily_papers(month="2026-05")) == []
    assert [p.id for p in hf.list_daily_papers(submitter="alice")] == ["2606.01234"]
    trending = list(hf.list_daily_papers(date="2026-06-23", sort="trending"))
    assert {p.id for p in trending} == {"2606.01234", "hep-th/9901001"}


def test_paging_with_p_and_limit(hf, day_papers):
    pages = [
        [p.id for p in hf.list_daily_papers(date="2026-06-23", p=n, limit=1)] for n in range(3)
    ]
    assert pages == [["hep-th/9901001"], ["2606.01234"], []]


def test_bad_date_is_a_400(hf, day_papers):
    with pytest.raises(HfHubHTTPError) as e:
        list(hf.list_daily_papers(date="2026-02-30"))
    assert e.value.response.status_code == 400


def test_paper_info_by_new_and_old_style_id(hf, day_papers):
    info = hf.paper_info("2606.01234")
    assert info.id == "2606.01234"
    assert info.title == "Attention is all you need, again"
    assert info.upvotes == 7
    assert info.submitted_by.username == "alice"
    assert info.submitted_at == dt.datetime(2026, 6, 23, 8, 0, tzinfo=UTC)
    old = hf.paper_info("hep-th/9901001")
    assert old.title == "Old-style identifiers still matter"
    assert [a.name for a in old.authors] == ["Grace Hopper"]


def test_paper_info_accepts_a_versioned_id(hf, day_papers):
    assert hf.paper_info("2606.01234v3").id == "2606.01234"


def test_unknown_paper_is_a_404(hf, day_papers):
    with pytest.raises(HfHubHTTPError) as e:
        hf.paper_info("2606.99999")
    assert e.value.response.status_code == 404


def test_list_papers_searches_title_and_abstract(hf, day_papers, index):
    unlisted = make_paper("Identifiers in the corpus, never listed", arxiv_id="2606.05555")
    index(*day_papers, unlisted)
    found = [p.id for p in hf.list_papers(query="identifiers")]
    assert set(found) == {"hep-th/9901001", unlisted.arxiv_id}
    assert [p.id for p in hf.list_papers(query="identifiers", limit=1)] != []
    assert len(list(hf.list_papers(query="identifiers", limit=1))) == 1


def test_read_paper_returns_the_markdown_page(hf, day_papers):
    text = hf.read_paper("2606.01234")
    assert text.startswith("# Attention is all you need, again\n")
    assert "Ada Lovelace, Alan Turing" in text


def test_hidden_papers_are_nowhere(hf, day_papers):
    first, _ = day_papers
    first.hidden = True
    first.save()
    assert [p.id for p in hf.list_daily_papers(date="2026-06-23")] == ["hep-th/9901001"]
    with pytest.raises(HfHubHTTPError):
        hf.paper_info("2606.01234")
    assert [p.id for p in hf.list_papers(query="attention")] == []


def test_our_ingest_reads_our_own_api(live_server, day_papers, settings):
    """`broadsheet ingest hf-daily` pointed at another Broadsheet copies its listing."""
    from broadsheet.ingest import hf_daily
    from broadsheet.ingest.http import PoliteClient

    settings.HF_ENDPOINT = live_server.url
    pages = list(hf_daily.daily_pages(PoliteClient(min_interval=0), {"date": "2026-06-23"}))
    records = {r.arxiv_id: r for page in pages for r in page}
    record = records["2606.01234"]
    assert record.title == "Attention is all you need, again"
    assert record.authors == ["Ada Lovelace", "Alan Turing"]
    assert record.source_upvotes == 7
    assert record.listed_at == dt.datetime(2026, 6, 23, 8, 0, tzinfo=UTC)
    assert record.listing_day == DAY
