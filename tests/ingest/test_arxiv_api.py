"""arXiv's query API (Atom) through a local server replaying recorded answers."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.management import CommandError, call_command

from broadsheet.ingest import arxiv_api, jobs
from broadsheet.ingest.arxiv_api import SourceError
from broadsheet.ingest.http import FetchError
from broadsheet.papers.models import Authorship, Paper

from .conftest import Reply, fixture, ok

pytestmark = pytest.mark.django_db

API = "/api/query"


def script_search(replay, *, second_page: list[Reply] | None = None) -> None:
    replay.script(API, ok(fixture("arxiv_page1.xml")), query={"start": 0})
    replay.script(API, *(second_page or [ok(fixture("arxiv_page2.xml"))]), query={"start": 2})


def test_search_pages_are_stored_and_asked_for_in_order(sources, polite):
    script_search(sources)

    counts = jobs.ingest_arxiv("cat:cs.LG", page_size=2, client=polite)

    assert (counts.new, counts.rejected) == (4, 0)
    assert set(Paper.objects.values_list("arxiv_id", flat=True)) == {
        "2401.01234", "hep-th/9901001", "2401.05678", "2312.11111"
    }  # fmt: skip
    assert sources.asked(API) == [
        {"search_query": "cat:cs.LG", "start": str(start), "max_results": "2",
         "sortBy": "submittedDate", "sortOrder": "descending"}
        for start in (0, 2)
    ]  # fmt: skip
    paper = Paper.objects.get(arxiv_id="2401.01234")
    assert paper.arxiv_version == 2
    assert paper.title.startswith("Sparse Attention in $\\mathcal{O}(n \\log n)$: Linear-Time")
    assert paper.github_repo == "https://github.com/ada-lab/sparselog"
    assert paper.doi == "10.1162/neco_a_01234"


def test_an_empty_page_is_asked_for_again(sources, polite):
    empty = ok(fixture("arxiv_empty.xml"))
    script_search(sources, second_page=[empty, empty, ok(fixture("arxiv_page2.xml"))])

    counts = jobs.ingest_arxiv("cat:cs.LG", page_size=2, client=polite)

    assert counts.new == 4
    assert [q["start"] for q in sources.asked(API)] == ["0", "2", "2", "2"]


def test_empty_pages_are_retried_a_bounded_number_of_times(sources, polite):
    script_search(sources, second_page=[ok(fixture("arxiv_empty.xml"))])
    sources.script(API, ok(fixture("arxiv_empty.xml")), query={"start": 2}, repeat_last=True)

    counts = jobs.ingest_arxiv("cat:cs.LG", page_size=2, client=polite)

    # The first page is kept; the empty one was asked for 1 + 3 times, then the run ended.
    assert counts.new == 2
    assert [q["start"] for q in sources.asked(API)] == ["0", "2", "2", "2", "2"]


def test_max_results_limits_what_is_asked_for(sources, polite):
    sources.script(API, ok(fixture("arxiv_page1.xml")), query={"start": 0, "max_results": 2})

    counts = jobs.ingest_arxiv("cat:cs.LG", max_results=2, page_size=100, client=polite)

    assert counts.new == 2
    assert len(sources.requests) == 1


def test_since_stops_at_papers_published_before_it(sources, polite):
    script_search(sources)

    counts = jobs.ingest_arxiv("cat:cs.LG", since=dt.date(2024, 1, 2), page_size=2, client=polite)

    # Page 1 holds a 1999 paper: it is skipped and the search stops there.
    assert counts.new == 1
    assert list(Paper.objects.values_list("arxiv_id", flat=True)) == ["2401.01234"]
    assert len(sources.requests) == 1


def test_a_run_with_nothing_new_stops_after_idle_pages(sources, polite):
    script_search(sources)
    jobs.ingest_arxiv("cat:cs.LG", page_size=2, client=polite)
    script_search(sources)
    sources.requests.clear()

    counts = jobs.ingest_arxiv("cat:cs.LG", page_size=2, stop_after_idle_pages=1, client=polite)

    assert (counts.new, counts.unchanged) == (0, 2)
    assert len(sources.requests) == 1


def test_requests_to_arxiv_are_spaced(sources, polite, fake_clock):
    sources.clock = fake_clock
    script_search(sources)

    jobs.ingest_arxiv("cat:cs.LG", page_size=2, client=polite)

    first, second = (r.at for r in sources.requests)
    assert second - first >= 3.0


def test_429_and_503_with_retry_after_are_retried(sources, polite, fake_clock):
    script_search(sources, second_page=[
        Reply(429, b"Too Many Requests"),
        Reply(503, b"Service Unavailable", {"Retry-After": "30"}),
        ok(fixture("arxiv_page2.xml")),
    ])  # fmt: skip

    counts = jobs.ingest_arxiv("cat:cs.LG", page_size=2, client=polite)

    assert counts.new == 4
    # min_interval before page 2, the 429's backoff, then the 503's Retry-After.
    assert fake_clock.sleeps == [3.0, 5.0, 30.0]


def test_a_source_that_stays_down_is_a_fetch_error_after_bounded_retries(sources, polite):
    script_search(sources, second_page=[Reply(503, b"down")])
    sources.script(API, Reply(503, b"down"), query={"start": 2}, repeat_last=True)

    with pytest.raises(FetchError, match="HTTP 503 after 4 attempts"):
        jobs.ingest_arxiv("cat:cs.LG", page_size=2, client=polite)

    # What came before the failure is kept.
    assert Paper.objects.count() == 2


def test_arxivs_error_feed_is_a_source_error(sources, polite):
    sources.script(API, ok(fixture("arxiv_error.xml")))

    with pytest.raises(SourceError, match="arXiv API error: max_results must be non-negative"):
        jobs.ingest_arxiv("cat:cs.LG", client=polite)

    assert Paper.objects.count() == 0


def test_the_command_reports_the_error_feed_as_a_command_error(sources):
    sources.script(API, ok(fixture("arxiv_error.xml")))

    with pytest.raises(CommandError, match="max_results must be non-negative"):
        call_command("ingest", "arxiv", "--query", "cat:cs.LG", stdout=io.StringIO())


def test_the_command_reports_counts(sources):
    script_search(sources)
    out = io.StringIO()

    call_command("ingest", "arxiv", "--query", "cat:cs.LG", "--page-size", "2", stdout=out)

    assert out.getvalue() == "arxiv: 4 new, 0 updated, 0 unchanged, 0 rejected, 0 newly listed\n"


@pytest.mark.parametrize(
    "name", ["arxiv_truncated.xml", "billion_laughs.xml", "external_entity.xml"]
)
def test_unreadable_or_hostile_xml_is_refused_and_nothing_is_stored(sources, polite, name):
    sources.script(API, ok(fixture(name)))

    with pytest.raises(SourceError, match="unreadable Atom feed"):
        jobs.ingest_arxiv("cat:cs.LG", client=polite)

    assert Paper.objects.count() == 0
    assert Authorship.objects.count() == 0


def test_a_bad_entry_is_rejected_and_the_others_are_stored(sources, polite):
    body = fixture("arxiv_page2.xml").replace(
        b"<published>2024-01-01T11:00:00Z</published>", b"<published>yesterday</published>"
    )
    sources.script(API, ok(body))

    counts = jobs.ingest_arxiv("cat:cs.LG", max_results=2, client=polite)

    assert (counts.new, counts.rejected) == (1, 1)
    assert counts.reasons == ["2401.05678v1: unreadable published date 'yesterday'"]


def test_fetch_one_returns_a_single_paper(sources):
    sources.script(API, ok(fixture("arxiv_page2.xml")), query={"id_list": "2401.05678"})

    rec = arxiv_api.fetch_one("2401.05678")

    assert rec is not None
    assert rec.title == "Gradient Noise Is All You Need"
    assert sources.asked(API) == [{"id_list": "2401.05678", "max_results": "1"}]


def test_fetch_one_of_an_unknown_paper_is_none(sources):
    sources.script(API, ok(fixture("arxiv_empty.xml")))

    assert arxiv_api.fetch_one("2401.99999") is None


def test_fetch_one_does_not_retry(sources):
    sources.script(API, Reply(503, b"", {"Retry-After": "30"}), ok(fixture("arxiv_page2.xml")))

    with pytest.raises(FetchError):
        arxiv_api.fetch_one("2401.05678")

    assert len(sources.requests) == 1


def test_new_submissions_get_the_runs_day_as_their_arrival_and_keep_it(sources, polite):
    """The New view's day (papers/arrivals.py): recent first versions only, set once."""
    import time_machine

    script_search(sources)
    with time_machine.travel(dt.datetime(2024, 1, 5, 12, tzinfo=dt.UTC), tick=False):
        jobs.ingest_arxiv("cat:cs.LG", page_size=2, client=polite)
    arrived = dict(Paper.objects.values_list("arxiv_id", "arrived_on"))
    # Submitted 2 January 2024 and later: arrived; the 1999 and December papers did not.
    assert arrived["2401.01234"] == dt.date(2024, 1, 5)
    assert arrived["hep-th/9901001"] is None and arrived["2312.11111"] is None
    script_search(sources)
    with time_machine.travel(dt.datetime(2024, 1, 6, 12, tzinfo=dt.UTC), tick=False):
        jobs.ingest_arxiv("cat:cs.LG", page_size=2, client=polite)
    assert Paper.objects.get(arxiv_id="2401.01234").arrived_on == dt.date(2024, 1, 5)
