"""Broadsheet's JSON Lines format: export then import round-trips; bad lines are rejected."""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
import sys

import pytest
from django.core.management import CommandError, call_command

from broadsheet.ingest.records import PaperRecord
from broadsheet.ingest.upsert import upsert
from broadsheet.papers.models import Author, Authorship, Listing, Paper

pytestmark = pytest.mark.django_db

UTC = dt.UTC


def ingest(*args: str) -> str:
    out = io.StringIO()
    call_command("ingest", "jsonl", *args, stdout=out)
    return out.getvalue()


def export(path) -> bytes:
    call_command("export", "jsonl", "-o", str(path), stderr=io.StringIO())
    return path.read_bytes()


def empty_the_database() -> None:
    Listing.objects.all().delete()
    Authorship.objects.all().delete()
    Paper.objects.all().delete()
    Author.objects.all().delete()


def a_varied_corpus() -> None:
    """Papers of every kind the export must carry: sample ones (slugs), arXiv ids old and new,
    DOIs, authors, listings from several sources, a hidden paper."""
    call_command("load-sample", "--day", "2026-06-23", "--no-arxiv", stdout=io.StringIO())
    upsert([
        PaperRecord(
            arxiv_id="2401.01234v2", title="Sparse Attention in $\\mathcal{O}(n \\log n)$",
            abstract="Linear-time attention. Code: https://github.com/ada-lab/sparselog",
            authors=["Ada Lovelace", "Alan M. Turing", "Grace Hopper"], doi="10.1162/neco_a_01234",
            primary_category="cs.LG", categories=["cs.LG", "stat.ML"],
            published_at=dt.datetime(2024, 1, 2, 17, 5, 31, tzinfo=UTC),
            updated_at=dt.datetime(2024, 1, 4, 18, 22, 10, tzinfo=UTC),
            comment="12 pages", journal_ref="Neural Computation 36 (2024) 1-24",
            source_upvotes=42, listing_day=dt.date(2024, 1, 4), listing_source="hf",
            listed_at=dt.datetime(2024, 1, 4, 1, 12, 40, 118000, tzinfo=UTC),
        ),
        PaperRecord(arxiv_id="hep-th/9901001v1", title="Branes and Black Holes",
                    authors=["Paul Nakamura", "Irene Okafor"], primary_category="hep-th",
                    categories=["hep-th", "gr-qc"],
                    published_at=dt.datetime(1999, 1, 4, 9, 12, tzinfo=UTC)),
        PaperRecord(doi="10.1145/3292500.3330701", title="A Paper Known Only by Its DOI",
                    authors=["Judea Pearl"], project_url="https://doi-only.example.org/"),
        PaperRecord(arxiv_id="2401.05678", title="Hidden by a moderator", hidden=True,
                    authors=["Mallory"], listing_day=dt.date(2024, 1, 3),
                    listed_at=dt.datetime(2024, 1, 3, 9, 0, tzinfo=UTC)),
    ])  # fmt: skip


def test_export_then_import_into_an_empty_database_then_export_is_byte_identical(tmp_path):
    a_varied_corpus()
    first = export(tmp_path / "first.jsonl")
    empty_the_database()

    output = ingest(str(tmp_path / "first.jsonl"), "--batch-size", "7")

    second = export(tmp_path / "second.jsonl")
    assert second == first
    assert output == "jsonl: 38 new, 0 updated, 0 unchanged, 0 rejected, 36 newly listed\n"
    # The file really carried every kind of paper.
    lines = [json.loads(line) for line in first.decode().splitlines()]
    assert len(lines) == 38
    assert sum(1 for d in lines if "slug" in d) == 34
    assert {d.get("listing_source") for d in lines} == {"sample", "hf", "import"}
    assert Paper.objects.get(arxiv_id="2401.05678").hidden is True
    assert Paper.objects.get(doi="10.1145/3292500.3330701").slug == "a-paper-known-only-by-its-doi"
    paper = Paper.objects.get(arxiv_id="2401.01234")
    assert (paper.arxiv_version, paper.source_upvotes, paper.listing.source) == (2, 42, "hf")
    assert list(paper.authorships.values_list("author__name", flat=True)) == [
        "Ada Lovelace", "Alan M. Turing", "Grace Hopper"
    ]  # fmt: skip


def test_importing_an_export_into_the_same_database_changes_nothing(tmp_path):
    a_varied_corpus()
    export(tmp_path / "papers.jsonl")

    output = ingest(str(tmp_path / "papers.jsonl"))

    assert output == "jsonl: 0 new, 0 updated, 38 unchanged, 0 rejected, 0 newly listed\n"


def test_export_writes_to_standard_output_by_default(capsys):
    upsert([PaperRecord(arxiv_id="2401.00001", title="Only one", authors=["Ada Lovelace"])])

    call_command("export", "jsonl", stderr=io.StringIO())

    (line,) = capsys.readouterr().out.splitlines()
    assert json.loads(line)["arxiv_id"] == "2401.00001"


def test_ingest_reads_standard_input(monkeypatch):
    lines = [
        {"arxiv_id": "2401.00001", "title": "From stdin", "authors": ["Ada Lovelace"]},
        {"doi": "10.1000/stdin", "title": "Also from stdin"},
    ]
    data = "".join(json.dumps(d) + "\n" for d in lines).encode()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data), encoding="utf-8"))

    output = ingest("-")

    assert output.startswith("jsonl: 2 new, 0 updated")
    assert Paper.objects.get(arxiv_id="2401.00001").title == "From stdin"


def test_a_file_that_cannot_be_read_is_a_command_error_naming_it(tmp_path):
    missing = tmp_path / "no-such-file.jsonl"

    with pytest.raises(CommandError, match=f"{missing}: No such file or directory"):
        ingest(str(missing))

    with pytest.raises(CommandError, match=str(tmp_path)):
        ingest(str(tmp_path))  # a directory


def test_bad_lines_are_rejected_with_their_line_number_and_the_rest_is_stored(tmp_path, caplog):
    good = {"arxiv_id": "2401.00001", "title": "Good", "authors": ["Ada Lovelace"]}
    lines = [
        json.dumps(good),
        '{"arxiv_id": "2401.00002", "title": "Truncated',
        json.dumps({"arxiv_id": "2401.00003"}),
        json.dumps({"arxiv_id": "24-01-00004", "title": "Bad id"}),
        json.dumps({"arxiv_id": "2401.00005", "title": "x" * 1001}),
        json.dumps({"arxiv_id": "2401.00006", "title": "Naive", "published_at": "2024-01-02"}),
        json.dumps({"arxiv_id": "2401.00007", "title": "Typo", "abstrct": "..."}),
        json.dumps({"arxiv_id": "2401.00008", "title": "Wrong type", "authors": "Ada Lovelace"}),
        json.dumps(["not", "an", "object"]),
        "",
        json.dumps({"arxiv_id": "2401.00009", "title": "Also good"}),
    ]  # fmt: skip
    path = tmp_path / "mixed.jsonl"
    path.write_bytes("\n".join(lines).encode() + b"\n\xff\xfe not utf-8\n")

    with caplog.at_level(logging.WARNING, logger="broadsheet.ingest"):
        output = ingest(str(path), "--batch-size", "2")

    assert output == "jsonl: 2 new, 0 updated, 0 unchanged, 9 rejected, 0 newly listed\n"
    assert set(Paper.objects.values_list("arxiv_id", flat=True)) == {"2401.00001", "2401.00009"}
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings[0].startswith(f"rejected: {path} line 2: invalid JSON (")
    assert warnings[1:] == [
        f"rejected: {path} line 3: no title",
        f"rejected: {path} line 4: 24-01-00004: invalid arXiv id '24-01-00004'",
        f"rejected: {path} line 5: 2401.00005: title longer than 1000 characters",
        f"rejected: {path} line 6: 2401.00006: published date has no time zone",
        f"rejected: {path} line 7: unknown field(s) abstrct",
        f"rejected: {path} line 8: authors must be a list of strings",
        f"rejected: {path} line 9: expected a JSON object",
        f"rejected: {path} line 12: not UTF-8",
    ]


def test_a_batch_that_clashes_is_stored_record_by_record(tmp_path):
    upsert([PaperRecord(doi="10.1000/taken", title="Already here")])
    lines = [
        {"arxiv_id": "2401.00001", "title": "One"},
        {"arxiv_id": "2401.00002", "title": "Clashes", "doi": "10.1000/taken"},
        {"arxiv_id": "2401.00003", "title": "Three", "authors": ["Ada Lovelace"]},
    ]
    path = tmp_path / "clash.jsonl"
    path.write_text("".join(json.dumps(d) + "\n" for d in lines))

    output = ingest(str(path))

    assert output.startswith("jsonl: 2 new, 0 updated, 0 unchanged, 1 rejected")
    assert Authorship.objects.filter(paper__arxiv_id="2401.00003").count() == 1


def test_a_long_file_parsed_in_a_second_process_gives_what_parsing_inline_gives(tmp_path):
    """read_jsonl_file hands chunks of a long input to a parsing process: same records, same
    rejections with the same line numbers, in file order."""
    from broadsheet.ingest.jsonl import read_jsonl, read_jsonl_file
    from broadsheet.ingest.records import Rejected, validate

    lines = []
    for i in range(40):
        rec = {
            "arxiv_id": f"2403.{i:05d}v2", "title": f"  Paper\n {i} ", "authors": ["A  B"],
            "published_at": "2024-03-01T10:00:00+01:00", "abstract": "https://x.org/p.",
        }  # fmt: skip
        lines.append(json.dumps(rec))
    lines[7] = "{not json"
    lines[19] = json.dumps({"title": "no id"})
    lines[23] = json.dumps({"arxiv_id": "2403.1", "title": "bad id"})
    lines[31] = json.dumps({"arxiv_id": "2403.00031", "title": 5})
    path = tmp_path / "long.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    def inline():
        for item in read_jsonl(path.read_bytes().splitlines(keepends=True), "long.jsonl"):
            if isinstance(item, Rejected):
                yield str(item)
                continue
            try:
                yield validate(item)
            except Rejected as e:
                yield f"{item.describe()}: {e}"

    with path.open("rb") as f:
        parallel = [
            item if isinstance(item, PaperRecord) else str(item)
            for item in read_jsonl_file(f, "long.jsonl", chunk=3)  # 14 chunks: in a process
        ]
    expected = list(inline())
    assert parallel == expected
    assert all(r.validated for r in parallel if isinstance(r, PaperRecord))
    assert "long.jsonl line 8: invalid JSON" in parallel[7]
    assert parallel[23] == "long.jsonl line 24: 2403.1: invalid arXiv id '2403.1'"
    assert parallel[0].title == "Paper 0" and parallel[0].arxiv_version == 2


def test_validated_cannot_be_set_by_a_line():
    from broadsheet.ingest.jsonl import read_jsonl

    [item] = read_jsonl([json.dumps({"arxiv_id": "2403.00001", "title": "t", "validated": True})])
    assert "unknown field(s) validated" in str(item)
