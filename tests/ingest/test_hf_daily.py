"""Hugging Face daily papers: papers, their feed day, and the source's upvotes kept apart."""

from __future__ import annotations

import datetime as dt
import io
import json

import pytest
from django.core.management import CommandError, call_command
from factories import list_paper, make_user, upvote

from broadsheet.ingest import hf_daily, jobs
from broadsheet.ingest.arxiv_api import SourceError
from broadsheet.ingest.records import PaperRecord
from broadsheet.ingest.upsert import upsert
from broadsheet.papers.models import Listing, Paper, Upvote

from .conftest import Reply, fixture, ok

pytestmark = pytest.mark.django_db

DAILY = "/api/daily_papers"
DAY = dt.date(2024, 1, 4)
JSON = "application/json; charset=utf-8"


def page(*names: str, upvotes: dict[str, int] | None = None) -> Reply:
    items = [item for name in names for item in json.loads(fixture(name))]
    for item in items:
        if upvotes and item["paper"]["id"] in upvotes:
            item["paper"]["upvotes"] = upvotes[item["paper"]["id"]]
    return ok(json.dumps(items), JSON)


@pytest.fixture
def two_per_page(monkeypatch):
    monkeypatch.setattr(hf_daily, "PAGE_SIZE", 2)


def script_day(replay, upvotes: dict[str, int] | None = None) -> None:
    replay.script(DAILY, page("hf_daily_p0.json", upvotes=upvotes), query={"p": 0})
    replay.script(DAILY, page("hf_daily_p1.json", upvotes=upvotes), query={"p": 1})


def test_daily_papers_are_stored_and_listed_on_the_day(sources, polite, two_per_page):
    script_day(sources)

    counts = jobs.ingest_hf_daily({"date": "2024-01-04"}, client=polite)

    assert (counts.new, counts.listed, counts.rejected) == (3, 3, 0)
    listings = Listing.objects.select_related("paper").order_by("submitted_at")
    assert [(li.paper.arxiv_id, li.day, li.source) for li in listings] == [
        ("2401.01234", DAY, "hf"), ("2401.06000", DAY, "hf"), ("2401.05678", DAY, "hf")
    ]  # fmt: skip
    # Listed when HF put them on the daily page, not when arXiv published them.
    assert listings[0].submitted_at == dt.datetime(2024, 1, 4, 1, 12, 40, 118000, tzinfo=dt.UTC)
    paper = Paper.objects.get(arxiv_id="2401.06000")
    assert paper.title == "World Models from Video Alone"
    assert paper.project_url == "https://world-models.example.com/"
    assert paper.source_upvotes == 17
    assert paper.upvote_count == 0
    assert list(paper.authorships.values_list("author__name", flat=True)) == [
        "Fei-Fei Li", "Yann LeCun"
    ]  # fmt: skip
    assert Paper.objects.get(arxiv_id="2401.01234").github_repo == (
        "https://github.com/ada-lab/sparselog"
    )


def test_pages_are_asked_for_with_p_and_limit_until_a_short_one(sources, polite, two_per_page):
    script_day(sources)

    jobs.ingest_hf_daily({"date": "2024-01-04"}, client=polite)

    assert sources.asked(DAILY) == [
        {"date": "2024-01-04", "p": "0", "limit": "2"},
        {"date": "2024-01-04", "p": "1", "limit": "2"},
    ]


def test_reingesting_updates_source_upvotes_and_leaves_member_votes_alone(
    sources, polite, two_per_page, member
):
    script_day(sources)
    jobs.ingest_hf_daily({"date": "2024-01-04"}, client=polite)
    paper = Paper.objects.get(arxiv_id="2401.01234")
    upvote(member, paper)
    upvote(make_user(), paper)
    script_day(sources, upvotes={"2401.01234": 99})

    counts = jobs.ingest_hf_daily({"date": "2024-01-04"}, client=polite)

    assert (counts.new, counts.updated, counts.unchanged, counts.listed) == (0, 1, 2, 0)
    paper.refresh_from_db()
    assert paper.source_upvotes == 99
    assert paper.upvote_count == 2
    assert paper.votes == 101
    assert Upvote.objects.filter(paper=paper).count() == 2
    assert Listing.objects.filter(paper=paper).count() == 1


def test_a_paper_already_on_the_feed_keeps_its_listing(sources, polite, two_per_page, member):
    upsert([PaperRecord(arxiv_id="2401.05678", title="Gradient Noise Is All You Need")])
    mine = list_paper(Paper.objects.get(), dt.date(2024, 1, 2), submitted_by=member)
    script_day(sources)

    counts = jobs.ingest_hf_daily({"date": "2024-01-04"}, client=polite)

    assert counts.listed == 2
    listing = Listing.objects.get(paper__arxiv_id="2401.05678")
    assert (listing.pk, listing.day, listing.source) == (mine.pk, dt.date(2024, 1, 2), "member")


def test_hf_keeps_what_arxiv_told_us(sources, polite, two_per_page):
    upsert([PaperRecord(
        arxiv_id="2401.01234", arxiv_version=2, title="Sparse Attention",
        doi="10.1162/neco_a_01234",
        primary_category="cs.LG", categories=["cs.LG", "cs.CL"], comment="12 pages",
        journal_ref="Neural Computation 36 (2024) 1-24",
    )])  # fmt: skip
    script_day(sources)

    jobs.ingest_hf_daily({"date": "2024-01-04"}, client=polite)

    paper = Paper.objects.get(arxiv_id="2401.01234")
    assert paper.source_upvotes == 42
    assert paper.arxiv_version == 2
    assert (paper.primary_category, paper.categories) == ("cs.LG", ["cs.LG", "cs.CL"])
    assert (paper.comment, paper.journal_ref) == ("12 pages", "Neural Computation 36 (2024) 1-24")
    assert paper.doi == "10.1162/neco_a_01234"


def test_arxiv_keeps_the_project_page_hf_told_us(sources, polite, two_per_page):
    script_day(sources)
    jobs.ingest_hf_daily({"date": "2024-01-04"}, client=polite)

    counts = upsert([PaperRecord(
        arxiv_id="2401.06000", arxiv_version=1, title="World Models from Video Alone",
        abstract="We learn a world model from unlabelled video.", categories=["cs.CV"],
    )])  # fmt: skip

    assert counts.updated == 1
    paper = Paper.objects.get(arxiv_id="2401.06000")
    assert paper.project_url == "https://world-models.example.com/"
    assert (paper.arxiv_version, paper.categories, paper.source_upvotes) == (1, ["cs.CV"], 17)


def test_a_week_lists_each_paper_on_the_day_hf_featured_it(sources, polite):
    sources.script(DAILY, page("hf_daily_p0.json", "hf_daily_p1.json"), query={"week": "2024-W01"})

    counts = jobs.ingest_hf_daily({"week": "2024-W01"}, client=polite)

    assert counts.listed == 3
    assert set(Listing.objects.values_list("day", flat=True)) == {DAY}
    assert sources.asked(DAILY) == [{"week": "2024-W01", "p": "0", "limit": "100"}]


def test_bad_items_are_rejected_and_counted_and_the_rest_stored(sources, polite, caplog):
    good = json.loads(fixture("hf_daily_p1.json"))
    items = [
        {"paper": None, "title": "no paper"},
        {"paper": {"title": "No id"}},
        {"paper": {"id": "not an id", "title": "Bad id"}},
        {"paper": {"id": "2401.07000", "title": "T" * 1001}},
        "just a string",
        *good,
    ]
    sources.script(DAILY, ok(json.dumps(items), JSON))

    counts = jobs.ingest_hf_daily({"date": "2024-01-04"}, client=polite)

    assert (counts.new, counts.rejected) == (1, 5)
    assert counts.reasons == [
        "item 0: not a daily-papers item",
        "item 1: paper without an id",
        "item 2 not an id: not an id: invalid arXiv id 'not an id'",
        "item 3 2401.07000: 2401.07000: title longer than 1000 characters",
        "item 4: not a daily-papers item",
    ]
    assert list(Paper.objects.values_list("arxiv_id", flat=True)) == ["2401.05678"]


@pytest.mark.parametrize(
    "body, message",
    [(b"<html>Bad gateway</html>", "not JSON"), (b'{"error": "Invalid date"}', "expected a list")],
)
def test_a_body_that_is_not_a_list_of_papers_is_a_source_error(sources, polite, body, message):
    sources.script(DAILY, ok(body, JSON))

    with pytest.raises(SourceError, match=message):
        jobs.ingest_hf_daily({"date": "2024-01-04"}, client=polite)

    assert Paper.objects.count() == 0


def test_the_command_ingests_a_day(sources):
    sources.script(DAILY, page("hf_daily_p0.json", "hf_daily_p1.json"))
    out = io.StringIO()

    call_command("ingest", "hf-daily", "--date", "2024-01-04", stdout=out)

    assert out.getvalue() == "hf-daily: 3 new, 0 updated, 0 unchanged, 0 rejected, 3 newly listed\n"
    assert sources.asked(DAILY) == [{"date": "2024-01-04", "p": "0", "limit": "100"}]


def test_the_command_reports_a_refused_request(sources):
    sources.script(DAILY, Reply(400, b'{"error": "date in the future"}'))

    with pytest.raises(CommandError, match="HTTP 400"):
        call_command("ingest", "hf-daily", "--date", "2099-01-01", stdout=io.StringIO())


def test_arxiv_and_hf_runs_in_turn_do_not_undo_each_other(sources, polite, two_per_page):
    sources.script("/api/query", ok(fixture("arxiv_page1.xml")))
    jobs.ingest_arxiv("cat:cs.LG", max_results=2, client=polite)
    script_day(sources)
    jobs.ingest_hf_daily({"date": "2024-01-04"}, client=polite)
    before = Paper.objects.get(arxiv_id="2401.01234")

    sources.script("/api/query", ok(fixture("arxiv_page1.xml")))
    arxiv_again = jobs.ingest_arxiv("cat:cs.LG", max_results=2, client=polite)
    script_day(sources)
    hf_again = jobs.ingest_hf_daily({"date": "2024-01-04"}, client=polite)

    assert (arxiv_again.updated, arxiv_again.unchanged) == (0, 2)
    assert (hf_again.updated, hf_again.unchanged) == (0, 3)
    after = Paper.objects.get(arxiv_id="2401.01234")
    assert after.modified == before.modified
    assert (after.arxiv_version, after.source_upvotes) == (2, 42)
    assert after.pdf_url == "https://arxiv.org/pdf/2401.01234"
