"""arXiv OAI-PMH harvests (metadataPrefix=arXiv): resumption, deletions, interruptions."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.management import CommandError, call_command
from factories import make_paper, upvote

from broadsheet.ingest import jobs
from broadsheet.ingest.arxiv_api import SourceError
from broadsheet.ingest.http import FetchError
from broadsheet.ingest.models import HarvestState
from broadsheet.papers.models import Authorship, Paper

from .conftest import Reply, fixture, ok

pytestmark = pytest.mark.django_db

OAI = "/oai"
FIRST = {"verb": "ListRecords", "metadataPrefix": "arXiv", "set": "cs"}
TOKEN_2 = "6960524|1001"
TOKEN_3 = "6960524|2001"
HARVESTED = {"2401.01234", "2401.02000", "2401.03000", "cs/0112017", "2401.04000"}


def xml(name: str) -> Reply:
    return ok(fixture(name), "text/xml; charset=utf-8")


def script_harvest(replay, page2: list[Reply] | None = None, repeat_last: bool = False) -> None:
    replay.script(OAI, xml("oai_page1.xml"), query={"metadataPrefix": "arXiv", "set": "cs"})
    replay.script(
        OAI, *(page2 or [xml("oai_page2.xml")]), query={"resumptionToken": TOKEN_2},
        repeat_last=repeat_last,
    )  # fmt: skip
    replay.script(OAI, xml("oai_page3.xml"), query={"resumptionToken": TOKEN_3})


def state() -> HarvestState:
    return HarvestState.objects.get(name="oai:cs")


def assert_no_duplicates() -> None:
    ids = list(Paper.objects.values_list("arxiv_id", flat=True))
    assert len(ids) == len(set(ids))
    for paper in Paper.objects.all():
        positions = list(paper.authorships.values_list("position", flat=True))
        assert positions == list(range(len(positions)))
        if paper.author_count is not None:
            assert len(positions) == paper.author_count


def test_a_harvest_follows_resumption_tokens_to_the_last_page(sources, polite):
    script_harvest(sources)

    counts = jobs.ingest_oai("cs", client=polite)

    assert sources.asked(OAI) == [
        FIRST,
        {"verb": "ListRecords", "resumptionToken": TOKEN_2},
        {"verb": "ListRecords", "resumptionToken": TOKEN_3},
    ]
    assert set(Paper.objects.values_list("arxiv_id", flat=True)) == HARVESTED
    # Two deleted records, neither of them stored here.
    assert (counts.new, counts.updated, counts.unchanged, counts.rejected) == (5, 0, 2, 0)
    assert state().resumption_token == ""
    assert state().last_datestamp == dt.date(2024, 1, 5)
    assert sources.unused() == []


def test_harvested_records_are_normalised(sources, polite):
    script_harvest(sources)

    jobs.ingest_oai("cs", client=polite)

    paper = Paper.objects.get(arxiv_id="2401.01234")
    assert paper.title == (
        "Sparse Attention in $\\mathcal{O}(n \\log n)$: Linear-Time Transformers for Long Documents"
    )
    assert list(paper.authorships.values_list("author__name", flat=True)) == [
        "Ada Lovelace", "Alan M. Turing", "Martin Luther King Jr", "Grace Hopper"
    ]  # fmt: skip
    assert (paper.primary_category, paper.categories) == ("cs.LG", ["cs.LG", "cs.CL", "stat.ML"])
    assert paper.published_at == dt.datetime(2024, 1, 2, tzinfo=dt.UTC)
    assert paper.updated_at == dt.datetime(2024, 1, 3, tzinfo=dt.UTC)
    assert paper.doi == "10.1162/neco_a_01234"
    assert paper.journal_ref == "Neural Computation 36 (2024) 1-24"
    assert paper.github_repo == "https://github.com/ada-lab/sparselog"
    assert Paper.objects.get(arxiv_id="2401.03000").project_url == "https://consensus.example.org/"
    old = Paper.objects.get(arxiv_id="cs/0112017")
    assert (old.slug, old.abs_url) == ("arxiv-cs-0112017", "https://arxiv.org/abs/cs/0112017")


def test_a_deleted_record_hides_an_existing_paper_and_keeps_its_votes(sources, polite, member):
    withdrawn = make_paper("Withdrawn", arxiv_id="2312.99999")
    upvote(member, withdrawn)
    script_harvest(sources)

    counts = jobs.ingest_oai("cs", client=polite)

    withdrawn.refresh_from_db()
    assert withdrawn.hidden is True
    assert withdrawn.upvote_count == 1
    assert (counts.new, counts.updated, counts.unchanged) == (5, 1, 1)
    # The other deleted record was for a paper we never had: nothing is stored for it.
    assert not Paper.objects.filter(arxiv_id="2312.88888").exists()


def test_a_harvest_killed_mid_way_resumes_from_its_token_and_then_runs_incrementally(
    sources, polite
):
    # Run 1: the source fails for good on page 2.
    script_harvest(sources, page2=[Reply(503, b"down", {"Retry-After": "60"})], repeat_last=True)

    with pytest.raises(FetchError, match="HTTP 503 after 4 attempts"):
        jobs.ingest_oai("cs", client=polite)

    assert set(Paper.objects.values_list("arxiv_id", flat=True)) == {"2401.01234", "2401.02000"}
    assert state().resumption_token == TOKEN_2
    assert state().last_datestamp is None

    # Run 2: the source is back. The harvest continues from the saved token, not from scratch.
    script_harvest(sources)
    sources.requests.clear()

    counts = jobs.ingest_oai("cs", client=polite)

    assert sources.asked(OAI)[0] == {"verb": "ListRecords", "resumptionToken": TOKEN_2}
    assert FIRST not in sources.asked(OAI)
    assert (counts.new, counts.updated) == (3, 0)
    assert set(Paper.objects.values_list("arxiv_id", flat=True)) == HARVESTED
    assert Paper.objects.count() == len(HARVESTED)
    assert_no_duplicates()
    assert state().resumption_token == ""
    assert state().last_datestamp == dt.date(2024, 1, 5)

    # Run 3: incremental, from the newest datestamp of the finished harvest.
    sources.script(OAI, xml("oai_no_records.xml"), query={**FIRST, "from": "2024-01-05"})
    sources.requests.clear()

    counts = jobs.ingest_oai("cs", client=polite)

    assert sources.asked(OAI) == [{**FIRST, "from": "2024-01-05"}]
    assert (counts.new, counts.updated, counts.unchanged) == (0, 0, 0)
    assert state().last_datestamp == dt.date(2024, 1, 5)
    assert Paper.objects.count() == len(HARVESTED)


def test_an_expired_token_starts_the_harvest_again_from_its_from_date(sources, polite):
    script_harvest(sources, page2=[Reply(503, b"down")], repeat_last=True)
    with pytest.raises(FetchError):
        jobs.ingest_oai("cs", from_date=dt.date(2024, 1, 1), client=polite)
    # A day later the source has forgotten the token.
    script_harvest(sources, page2=[xml("oai_bad_token.xml"), xml("oai_page2.xml")])
    sources.requests.clear()

    counts = jobs.ingest_oai("cs", client=polite)

    assert sources.asked(OAI)[:2] == [
        {"verb": "ListRecords", "resumptionToken": TOKEN_2},
        {**FIRST, "from": "2024-01-01"},
    ]
    assert (counts.new, counts.unchanged) == (3, 4)
    assert Paper.objects.count() == len(HARVESTED)
    assert state().resumption_token == ""


def test_running_a_finished_harvest_again_stores_no_duplicates(sources, polite):
    script_harvest(sources)
    jobs.ingest_oai("cs", client=polite, from_date=dt.date(2024, 1, 1))
    script_harvest(sources)
    sources.requests.clear()

    counts = jobs.ingest_oai("cs", client=polite, from_date=dt.date(2024, 1, 1))

    assert sources.asked(OAI)[0] == {**FIRST, "from": "2024-01-01"}
    assert (counts.new, counts.updated, counts.unchanged) == (0, 0, 7)
    assert Paper.objects.count() == len(HARVESTED)
    assert_no_duplicates()


def test_a_truncated_page_is_a_source_error_and_nothing_of_it_is_stored(sources, polite):
    script_harvest(sources, page2=[xml("oai_truncated.xml")])

    with pytest.raises(SourceError, match="unreadable OAI-PMH response"):
        jobs.ingest_oai("cs", client=polite)

    assert set(Paper.objects.values_list("arxiv_id", flat=True)) == {"2401.01234", "2401.02000"}
    assert state().resumption_token == TOKEN_2


@pytest.mark.parametrize("name", ["oai_billion_laughs.xml", "oai_external_entity.xml"])
def test_xml_with_entities_is_refused_and_nothing_is_stored(sources, polite, name):
    sources.script(OAI, xml(name))

    with pytest.raises(SourceError, match="unreadable OAI-PMH response"):
        jobs.ingest_oai("cs", client=polite)

    assert Paper.objects.count() == 0
    assert Authorship.objects.count() == 0
    assert not HarvestState.objects.filter(resumption_token__gt="").exists()


def test_an_oai_error_is_a_source_error(sources, polite):
    sources.script(OAI, xml("oai_bad_argument.xml"))

    with pytest.raises(SourceError, match="OAI-PMH error badArgument: Illegal set value"):
        jobs.ingest_oai("cs", client=polite)


def test_a_record_without_metadata_is_rejected_and_the_page_goes_on(sources, polite):
    body = fixture("oai_page3.xml").replace(
        b"<metadata>", b"<about>", 1).replace(b"</metadata>", b"</about>", 1)  # fmt: skip
    sources.script(OAI, ok(body))

    counts = jobs.ingest_oai("cs", client=polite)

    assert counts.rejected == 1
    assert counts.reasons == ["oai:arXiv.org:2401.04000: no arXiv metadata"]


def test_the_command_harvests_and_reports_counts(sources):
    script_harvest(sources)
    out = io.StringIO()

    call_command("ingest", "oai", "--set", "cs", "--from", "2024-01-01", stdout=out)

    assert out.getvalue() == "oai: 5 new, 0 updated, 2 unchanged, 0 rejected, 0 newly listed\n"
    assert sources.asked(OAI)[0] == {**FIRST, "from": "2024-01-01"}


def test_the_command_turns_a_source_error_into_a_command_error(sources):
    sources.script(OAI, xml("oai_bad_argument.xml"))

    with pytest.raises(CommandError, match="badArgument"):
        call_command("ingest", "oai", "--set", "nonsense", stdout=io.StringIO())
