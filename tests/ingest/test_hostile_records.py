"""One hostile record costs only itself: every source rejects it by line or id, stores the
rest of its batch, and a second run of the same input stores nothing twice."""

from __future__ import annotations

import datetime as dt
import io
import json
import logging

import pytest
from django.core.management import call_command
from django.utils import timezone

from broadsheet.ingest import jobs
from broadsheet.ingest.jsonl import read_jsonl_file
from broadsheet.ingest.models import HarvestState
from broadsheet.papers.models import Listing, Paper

from .conftest import ok

pytestmark = pytest.mark.django_db

DAILY = "/api/daily_papers"
JSON = "application/json; charset=utf-8"
FULLWIDTH = "２４０１.００００６"  # fullwidth digits: Python's \d matches them


def good(n: int, **fields) -> dict:
    return {"arxiv_id": f"2401.{n:05d}", "title": f"Good paper {n}", **fields}


def hostile_lines() -> list[str]:
    """(line 1 is good) each line after it breaks one rule, the good ones between them."""
    return [
        json.dumps(good(1, listing_day="2024-01-04", source_upvotes=3)),
        json.dumps(good(2, title="\ud800 lone surrogate")),
        json.dumps(good(3, abstract="a NUL \u0000 here")),
        json.dumps(good(4, source_upvotes=2**63)),
        json.dumps(good(5, arxiv_version=2**63)),
        json.dumps(good(6, author_count=2**63)),
        json.dumps(good(7, published_at="9999-12-31T23:59:59-14:00")),
        "[" * 100_000 + "]" * 100_000,
        json.dumps(good(9, listing_day="9999-12-31")),
        json.dumps(good(10, authors=["Ada \udfff"])),
        '{"arxiv_id": "2401.00011", "title": "huge", "author_count": ' + "9" * 5000 + "}",
        json.dumps(good(12, source_upvotes=2**31)),
        json.dumps(good(13, arxiv_version=32768)),
        json.dumps(good(14, published_at="0001-01-01T00:00:00+14:00")),
        json.dumps(good(15, listing_day="1900-01-01")),
        json.dumps({"title\ud800": "a key no terminal can print"}),
        json.dumps(good(17, comment="tail \ud83d")),
        json.dumps(good(18, listing_day="2024-01-05", source_upvotes=2**31 - 1)),
        json.dumps({"arxiv_id": "a" * 40 + "/1234567", "title": "Longer than the column"}),
        json.dumps(good(20, primary_category="cs.LG},url={https://e.vil/")),
    ]


def ingest_jsonl(path, caplog) -> tuple[str, list[str]]:
    out = io.StringIO()
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="broadsheet.ingest"):
        call_command("ingest", "jsonl", str(path), "--batch-size", "4", stdout=out)
    return out.getvalue(), [r.getMessage() for r in caplog.records]


def test_hostile_jsonl_lines_are_rejected_by_line_and_the_rest_is_stored(tmp_path, caplog):
    path = tmp_path / "hostile.jsonl"
    path.write_text("\n".join(hostile_lines()) + "\n", encoding="utf-8", errors="surrogatepass")

    output, warnings = ingest_jsonl(path, caplog)

    assert output == "jsonl: 2 new, 0 updated, 0 unchanged, 18 rejected, 2 newly listed\n"
    assert set(Paper.objects.values_list("arxiv_id", flat=True)) == {"2401.00001", "2401.00018"}
    assert Paper.objects.get(arxiv_id="2401.00018").source_upvotes == 2**31 - 1
    assert sorted(Listing.objects.values_list("day", flat=True)) == [
        dt.date(2024, 1, 4), dt.date(2024, 1, 5)
    ]  # fmt: skip
    p = f"rejected: {path} line"
    assert warnings == [
        f"{p} 2: 2401.00002: title holds a lone surrogate (not valid UTF-8)",
        f"{p} 3: 2401.00003: abstract holds a NUL character",
        f"{p} 4: 2401.00004: upvote count is out of range (0 to 2147483647)",
        f"{p} 5: 2401.00005: arXiv version is out of range (1 to 32767)",
        f"{p} 6: 2401.00006: author count is out of range (0 to 2147483647)",
        f"{p} 7: 2401.00007: published date is out of range",
        f"{p} 8: invalid JSON (nested too deeply)",
        f"{p} 9: 2401.00009: listing day 9999-12-31 is not between 1991-01-01 and "
        f"{timezone.localdate() + dt.timedelta(days=1)}",
        f"{p} 10: 2401.00010: authors holds a lone surrogate (not valid UTF-8)",
        f"{p} 11: invalid JSON (a number too long to read)",
        f"{p} 12: 2401.00012: upvote count is out of range (0 to 2147483647)",
        f"{p} 13: 2401.00013: arXiv version is out of range (1 to 32767)",
        f"{p} 14: 2401.00014: published date is out of range",
        f"{p} 15: 2401.00015: listing day 1900-01-01 is not between 1991-01-01 and "
        f"{timezone.localdate() + dt.timedelta(days=1)}",
        f"{p} 16: unknown field(s) title\\ud800",
        f"{p} 17: 2401.00017: comment holds a lone surrogate (not valid UTF-8)",
        f"{p} 19: {'a' * 40}/1234567: invalid arXiv id '{'a' * 40}/1234567'",
        f"{p} 20: 2401.00020: not a category name: 'cs.LG}},url={{https://e.vil/'",
    ]

    # Kill-safe and idempotent: the same file again changes nothing and fails on nothing.
    output, _ = ingest_jsonl(path, caplog)
    assert output == "jsonl: 0 new, 0 updated, 2 unchanged, 18 rejected, 0 newly listed\n"


def test_hostile_lines_parsed_in_the_second_process_are_rejected_there(tmp_path):
    """A long input is parsed in a second process: a hostile line is rejected there too,
    with its line number, and never stops the chunks after it."""
    lines = hostile_lines() * 2
    path = tmp_path / "long.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8", errors="surrogatepass")

    with path.open("rb") as f:
        items = [str(i) if isinstance(i, Exception) else i for i in read_jsonl_file(f, "f", 3)]

    assert len(items) == 40
    assert [i.arxiv_id for i in items if not isinstance(i, str)] == ["2401.00001", "2401.00018"] * 2
    assert items[7] == "f line 8: invalid JSON (nested too deeply)"
    assert items[27] == "f line 28: invalid JSON (nested too deeply)"
    assert items[23] == "f line 24: 2401.00004: upvote count is out of range (0 to 2147483647)"


def hf_item(arxiv_id: str, **paper) -> dict:
    return {
        "paper": {
            "id": arxiv_id, "title": f"Paper {arxiv_id}", "summary": "An abstract.",
            "authors": [{"name": "Ada Lovelace"}], "upvotes": 4,
            "publishedAt": "2024-01-01T11:00:00.000Z",
            "submittedOnDailyAt": "2024-01-04T03:05:19.002Z", **paper,
        },
    }  # fmt: skip


def test_one_bad_upstream_hf_record_does_not_block_the_daily_job(sources, polite, caplog):
    items = [
        hf_item("2401.00001"),
        hf_item("2401.00002", upvotes=10**30),
        hf_item("2401.00003", title="\ud800"),
        hf_item("2401.00004", submittedOnDailyAt="9999-12-31T23:59:59-14:00"),
        hf_item("2401.00005", submittedOnDailyAt="9999-12-31T10:00:00Z"),
        hf_item(FULLWIDTH),
        hf_item("2401.00007", upvotes=1e30),  # not an integer: no figure, the paper is kept
    ]
    sources.script(DAILY, ok(json.dumps(items), JSON), query={"p": 0})

    with caplog.at_level(logging.WARNING, logger="broadsheet.ingest"):
        counts = jobs.ingest_hf_daily({"month": "2024-01"}, client=polite)

    assert (counts.new, counts.rejected, counts.listed) == (2, 5, 2)
    assert sorted(Paper.objects.values_list("arxiv_id", "source_upvotes")) == [
        ("2401.00001", 4), ("2401.00007", 0)
    ]  # fmt: skip
    assert set(Listing.objects.values_list("day", flat=True)) == {dt.date(2024, 1, 4)}
    warnings = [r.getMessage() for r in caplog.records]
    assert [w.split(": ", 2)[1:] for w in warnings] == [
        ["item 1 2401.00002", "2401.00002: upvote count is out of range (0 to 2147483647)"],
        ["item 2 2401.00003", "2401.00003: title holds a lone surrogate (not valid UTF-8)"],
        ["item 3 2401.00004", "2401.00004: listing time is out of range"],
        ["item 4 2401.00005", "2401.00005: listing time 9999-12-31 is not between 1800-01-01 "
         f"and {timezone.now() + dt.timedelta(days=2):%Y-%m-%d}"],
        [f"item 5 {FULLWIDTH}", f"{FULLWIDTH}: invalid arXiv id '{FULLWIDTH}'"],
    ]  # fmt: skip


def test_hf_page_nested_too_deeply_is_a_source_error_not_a_traceback(sources, polite):
    from broadsheet.ingest.arxiv_api import SourceError

    sources.script(DAILY, ok("[" * 100_000 + "]" * 100_000, JSON), query={"p": 0})
    with pytest.raises(SourceError, match="not JSON"):
        jobs.ingest_hf_daily({"month": "2024-01"}, client=polite)


ATOM = """<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xmlns:arxiv="http://arxiv.org/schemas/atom"
      xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/">
  <opensearch:totalResults>{total}</opensearch:totalResults>
  {entries}
</feed>"""


def atom_entry(arxiv_id: str, published: str = "2024-01-01T11:00:00Z", title: str = "") -> str:
    return f"""<entry><id>http://arxiv.org/abs/{arxiv_id}v1</id>
      <published>{published}</published><updated>{published}</updated>
      <title>{title or "Paper " + arxiv_id}</title><summary>Text.</summary>
      <author><name>Ada Lovelace</name></author></entry>"""


def test_hostile_atom_entries_are_rejected_and_the_rest_stored(sources, polite):
    entries = [
        atom_entry("2401.00001"),
        atom_entry("2401.00002", "9999-12-31T23:59:59-14:00"),
        atom_entry("２４０１.０００03"),
        atom_entry("2401.00004", "0001-01-01T00:00:00+14:00"),
        atom_entry("2401.00005", "2999-01-01T00:00:00Z"),
    ]
    body = ATOM.format(total="²", entries="".join(entries))
    sources.script("/api/query", ok(body), query={"start": 0})

    counts = jobs.ingest_arxiv("cat:cs.LG", page_size=100, max_results=5, client=polite)

    assert (counts.new, counts.rejected) == (1, 4)
    assert list(Paper.objects.values_list("arxiv_id", flat=True)) == ["2401.00001"]


OAI = """<?xml version="1.0" encoding="UTF-8"?>
<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/"><ListRecords>{records}
<resumptionToken/></ListRecords></OAI-PMH>"""


def oai_record(arxiv_id: str, created: str = "2024-01-05", stamp: str = "2024-01-05") -> str:
    return f"""<record><header><identifier>oai:arXiv.org:{arxiv_id}</identifier>
      <datestamp>{stamp}</datestamp></header><metadata>
      <arXiv xmlns="http://arxiv.org/OAI/arXiv/"><id>{arxiv_id}</id><created>{created}</created>
      <authors><author><keyname>Lovelace</keyname><forenames>Ada</forenames></author></authors>
      <title>Paper {arxiv_id}</title><categories>cs.LG</categories><abstract>Text.</abstract>
      </arXiv></metadata></record>"""


def test_hostile_oai_records_are_rejected_and_a_future_datestamp_is_not_the_next_start(
    sources, polite
):
    records = [
        oai_record("2401.00001"),
        oai_record("2401.00002", created="9999-12-31"),
        oai_record("2401.00003", stamp="9999-12-31"),
        oai_record("２４０１.０００04"),
    ]
    sources.script("/oai", ok(OAI.format(records="".join(records))))

    counts = jobs.ingest_oai("cs", client=polite)

    assert (counts.new, counts.rejected) == (2, 2)
    assert set(Paper.objects.values_list("arxiv_id", flat=True)) == {"2401.00001", "2401.00003"}
    # The next harvest starts from the newest believable datestamp, not from year 9999.
    assert HarvestState.objects.get(name="oai:cs").last_datestamp == dt.date(2024, 1, 5)


def test_a_value_the_database_refuses_rejects_its_record_only():
    """The safety net behind validate(): should a value reach PostgreSQL that it refuses, the
    batch is stored record by record and only that one is rejected."""
    from django.db import connection

    from broadsheet.ingest.records import PaperRecord
    from broadsheet.ingest.upsert import upsert

    if connection.vendor != "postgresql":
        pytest.skip("SQLite takes any length and any 64-bit integer")
    refused = PaperRecord(arxiv_id="a" * 40 + "/1234567", title="Too long", validated=True)
    counts = upsert([PaperRecord(arxiv_id="2401.00001", title="One"), refused,
                     PaperRecord(arxiv_id="2401.00003", title="Three")])  # fmt: skip

    assert (counts.new, counts.rejected) == (2, 1)
    assert counts.reasons[0].startswith(f"{'a' * 40}/1234567: refused by the database (")
    assert set(Paper.objects.values_list("arxiv_id", flat=True)) == {"2401.00001", "2401.00003"}
