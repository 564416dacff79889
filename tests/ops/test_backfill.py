"""`broadsheet backfill`: an arXiv OAI-PMH harvest of some categories, made searchable.

The source is the local replay server of tests/ingest, answering with recorded-style
ListRecords pages (tests/ops/fixtures/oai_backfill_page*.xml: set `cs`, three pages chained
by resumption tokens, papers in cs.LG, cs.CL, cs.CV, one created before 2015, a deletion).
Embedding and keywords run the real model.
"""

from __future__ import annotations

import datetime as dt
import re
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from broadsheet.ingest.arxiv_categories import UnknownCategory, sets_for
from broadsheet.ingest.models import HarvestState
from broadsheet.ops.backfill import backfill
from broadsheet.papers.models import Paper
from broadsheet.search.backends import get_backend
from broadsheet.search.embedder import embed_query
from broadsheet.search.models import SearchDocument
from broadsheet.search.query import parse
from broadsheet.search.results import Filters
from tests.ingest.conftest import FIXTURES as INGEST_FIXTURES
from tests.ingest.conftest import ReplayServer, Reply, ok
from tests.ingest.conftest import replay as replay  # a fixture
from tests.ingest.test_kill_and_resume import BROADSHEET, Target, run
from tests.ingest.test_kill_and_resume import migrated_site as migrated_site  # a fixture
from tests.ingest.test_kill_and_resume import target as target  # a fixture

FIXTURES = Path(__file__).parent / "fixtures"
OAI = "/oai"
FIRST = {"verb": "ListRecords", "metadataPrefix": "arXiv", "set": "cs", "from": "2015-01-01"}
TOKEN_2 = "7712301|4"
TOKEN_3 = "7712301|7"
SINCE = dt.date(2015, 1, 1)
# The papers of the pages in cs.LG or cs.CL created since 2015 (not 1807.00002 and
# 1807.00005, cs.CV only; not 1403.00006, created in 2014).
LG_CL = {"1807.00001", "1807.00003", "1807.00004", "1807.00007", "1807.00008"}
CL = {"1807.00003", "1807.00007", "1807.00008"}
TRAFFIC = "1807.00004"  # "Multi-Agent Deep Reinforcement Learning for ... Traffic Signal Control"
BY_MEANING = "reducing congestion at crossroads with learned controllers"


def page(n: int, hold: threading.Event | None = None) -> Reply:
    reply = ok((FIXTURES / f"oai_backfill_page{n}.xml").read_bytes(), "text/xml; charset=utf-8")
    reply.hold = hold
    return reply


def script_pages(replay: ReplayServer, hold: threading.Event | None = None) -> None:
    replay.script(OAI, page(1), query={"metadataPrefix": "arXiv", "set": "cs"})
    replay.script(OAI, page(2, hold), query={"resumptionToken": TOKEN_2})
    replay.script(OAI, page(3), query={"resumptionToken": TOKEN_3})


@pytest.fixture
def source(settings, replay) -> ReplayServer:
    settings.ARXIV_OAI_URL = replay.url(OAI)
    settings.ARXIV_REQUEST_INTERVAL = 0
    return replay


def arxiv_ids() -> set[str]:
    return set(Paper.objects.values_list("arxiv_id", flat=True))


def found(query: str, by: str) -> list[str]:
    """Arxiv ids by the backend's words-only or meaning-only list."""
    backend = get_backend()
    if by == "lexical":
        ranked = backend.lexical(parse(query), Filters(), 10)
    else:
        ranked = backend.semantic(embed_query(query), Filters(), 10)
    by_id = Paper.objects.in_bulk([pid for pid, _ in ranked])
    return [by_id[pid].arxiv_id for pid, _ in ranked]


def test_the_categories_map_to_arxivs_oai_sets():
    assert sets_for(["cs.LG", "cs.CL", "stat.ML", "hep-th", "math", "cond-mat.soft"]) == {
        "cs": frozenset({"cs.LG", "cs.CL"}),
        "math": frozenset({"math"}),
        "physics:cond-mat": frozenset({"cond-mat.soft"}),
        "physics:hep-th": frozenset({"hep-th"}),
        "stat": frozenset({"stat.ML"}),
    }
    with pytest.raises(UnknownCategory, match="'cs.XY' is not an arXiv category"):
        sets_for(["cs.LG", "cs.XY"])


@pytest.mark.django_db
def test_a_backfill_stores_indexes_embeds_and_gives_keywords_to_the_asked_papers(source):
    script_pages(source)

    counts = backfill(["cs.LG", "cs.CL"], SINCE)

    assert source.asked(OAI) == [
        FIRST,
        {"verb": "ListRecords", "resumptionToken": TOKEN_2},
        {"verb": "ListRecords", "resumptionToken": TOKEN_3},
    ]
    assert arxiv_ids() == LG_CL
    assert (counts.pages, counts.harvested, counts.kept) == (3, 9, 6)  # 5 papers, a deletion
    assert (counts.stored.new, counts.stored.unchanged, counts.stored.rejected) == (5, 1, 0)
    assert (counts.embedded, counts.keywords) == (5, 5)
    assert SearchDocument.objects.filter(embedded_at__isnull=False).count() == 5
    assert not Paper.objects.filter(ai_keywords__isnull=True).exists()
    # Searchable by words and by meaning.
    assert found("traffic signal", "lexical")[0] == TRAFFIC
    assert (
        found("reducing congestion at crossroads with learned controllers", "semantic")[0]
        == TRAFFIC
    )
    state = HarvestState.objects.get()
    assert (state.resumption_token, state.last_datestamp) == ("", dt.date(2024, 1, 5))


@pytest.mark.django_db
def test_the_categories_filter_keeps_only_the_asked_ones_from_each_set(source):
    script_pages(source)
    stat = {"verb": "ListRecords", "metadataPrefix": "arXiv", "set": "stat"}
    source.script(
        OAI,
        ok((INGEST_FIXTURES / "oai_no_records.xml").read_bytes(), "text/xml"),
        query={"set": "stat"},
    )

    counts = backfill(["cs.CL", "stat.ML"], SINCE, keywords=False)

    assert arxiv_ids() == CL
    assert {**stat, "from": "2015-01-01"} in source.asked(OAI)
    assert (counts.stored.new, counts.embedded, counts.keywords) == (3, 3, 0)
    assert all(
        "cs.CL" in categories for categories in Paper.objects.values_list("categories", flat=True)
    )


@pytest.mark.django_db
def test_a_second_run_asks_only_for_what_changed_since_and_redoes_nothing(source):
    script_pages(source)
    backfill(["cs.LG", "cs.CL"], SINCE)
    # The source sends again the records of the newest day of the first harvest.
    source.script(OAI, page(3), query={"set": "cs", "from": "2024-01-05"})
    source.requests.clear()

    counts = backfill(["cs.LG", "cs.CL"], SINCE)

    assert source.asked(OAI) == [{**FIRST, "from": "2024-01-05"}]
    assert (counts.stored.new, counts.stored.updated, counts.stored.unchanged) == (0, 0, 3)
    assert (counts.embedded, counts.indexed, counts.keywords) == (0, 0, 0)
    assert arxiv_ids() == LG_CL
    assert source.unused() == []


@pytest.mark.django_db
def test_a_failing_source_keeps_the_stored_pages_and_the_next_run_continues(source):
    script_pages(source)
    source.script(
        OAI, Reply(400, b"bad request"), query={"resumptionToken": TOKEN_3}
    )  # a refusal the client does not retry

    with pytest.raises(CommandError, match="HTTP 400"):
        call_command("backfill", "--categories", "cs.LG,cs.CL", "--since", "2015-01-01")

    assert arxiv_ids() == {"1807.00001", "1807.00003", "1807.00004"}
    assert HarvestState.objects.get().resumption_token == TOKEN_3

    source.script(OAI, page(3), query={"resumptionToken": TOKEN_3})
    source.requests.clear()
    counts = backfill(["cs.LG", "cs.CL"], SINCE)

    assert source.asked(OAI) == [{"verb": "ListRecords", "resumptionToken": TOKEN_3}]
    assert counts.stored.new == 2
    assert arxiv_ids() == LG_CL


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--categories", "cs.LG,cs.XY"], "'cs.XY' is not an arXiv category or archive"),
        (["--categories", ","], "no category given"),
        (["--categories", "cs.LG", "--since", "2015-13-01"], "'2015-13-01' is not a date"),
        (["--categories", "cs.LG", "--since", "2999-01-01"], "2999-01-01 is in the future"),
    ],
)
def test_bad_input_gets_a_clear_error_and_no_traceback(target, args, message):
    result = run(target, "backfill", *args)

    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def harvest_token(target: Target) -> str:
    try:
        return target.query(
            "SELECT resumption_token FROM ingest_harveststate WHERE name LIKE 'backfill:%'"
        )
    except Exception:  # the table is being created, or the row is not there yet
        return ""


def test_a_backfill_killed_after_its_first_page_resumes_and_ends_with_every_paper_once(
    target, replay
):
    target.env.update(
        BROADSHEET_ARXIV_OAI_URL=replay.url(OAI), BROADSHEET_ARXIV_REQUEST_INTERVAL="0"
    )
    command = ["backfill", "--categories", "cs.LG,cs.CL", "--since", "2015-01-01"]
    held = threading.Event()  # page 2 is not answered until the process is killed
    script_pages(replay, hold=held)

    process = subprocess.Popen(
        [*BROADSHEET, *command], env=target.env, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while harvest_token(target) != TOKEN_2:
            assert process.poll() is None, "the backfill ended before it could be killed"
            assert time.monotonic() < deadline, "the first page was not stored within a minute"
            time.sleep(0.02)
        process.send_signal(signal.SIGKILL)
    finally:
        process.kill()
        process.wait(timeout=10)
        held.set()
    assert process.returncode == -signal.SIGKILL
    assert target.query("SELECT COUNT(*) FROM papers_paper") == 2  # page 1's cs.LG/cs.CL papers

    script_pages(replay)
    replay.requests.clear()
    rerun = run(target, *command)

    assert rerun.returncode == 0, rerun.stderr
    assert replay.asked(OAI) == [
        {"verb": "ListRecords", "resumptionToken": TOKEN_2},
        {"verb": "ListRecords", "resumptionToken": TOKEN_3},
    ]
    new = int(re.search(r"import: (\d+) new", rerun.stdout).group(1))
    embedded = int(re.search(r"embed: (\d+) papers", rerun.stdout).group(1))
    assert (new, embedded) == (3, 5)  # the killed run embedded none of page 1's papers
    assert target.query("SELECT COUNT(*) FROM papers_paper") == len(LG_CL)
    assert target.query("SELECT COUNT(DISTINCT arxiv_id) FROM papers_paper") == len(LG_CL)
    assert target.query("SELECT COUNT(*) FROM search_document") == len(LG_CL)
    assert target.query(
        "SELECT COUNT(*) FROM search_document WHERE embedded_at IS NOT NULL"
    ) == len(LG_CL)
    assert target.query("SELECT COUNT(*) FROM papers_paper WHERE ai_keywords IS NULL") == 0
    if "BROADSHEET_DATABASE_URL" in target.env:  # PostgreSQL: this host builds its indexes
        assert run(target, "search-follow", "--once").returncode == 0
    searched = run(
        target, "shell", "--verbosity", "0", "-c",
        "from tests.ops.test_backfill import found\n"
        f"for query, by in (('traffic signal', 'lexical'), ({BY_MEANING!r}, 'semantic')):\n"
        "    print(found(query, by)[0])",
    )  # fmt: skip
    assert searched.returncode == 0, searched.stderr
    assert searched.stdout.split() == [TRAFFIC, TRAFFIC]
