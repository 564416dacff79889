"""Every rule of the upsert through each database's bulk path (on PostgreSQL: COPY, set-based
statements, tsvectors written by a second connection).

fixtures/upsert_rules.jsonl exercises the rules (new papers, newer and older arXiv versions,
fields a record leaves empty, thumbnails kept, deletions, hidden papers, DOI and slug
identities, listings, authors reordered and replaced, duplicates within a batch, text that
COPY must escape). fixtures/upsert_rules_expected.json is what the per-row path (executemany
and the ORM, before COPY) stored from it, on SQLite and on PostgreSQL alike, and the counts it
reported, for batches of 4 and of 1000 (which differ: within a batch only the last record of
a paper counts). The bulk path must store and report the same.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from broadsheet.ingest.jsonl import read_jsonl_file
from broadsheet.ingest.upsert import FIELDS, upsert
from broadsheet.papers.models import Paper
from broadsheet.search.models import SearchDocument

FIXTURES = Path(__file__).parent / "fixtures"
RULES = FIXTURES / "upsert_rules.jsonl"
EXPECTED = FIXTURES / "upsert_rules_expected.json"


def snapshot() -> list[dict]:
    """Everything an import stores, per paper, in an order both databases agree on."""
    papers = []
    for p in Paper.objects.select_related("listing").prefetch_related("authorships__author"):
        row = {
            name: getattr(p, name)
            for name in ("arxiv_id", *FIELDS, "slug", "hidden", "source_upvotes")
        }
        row = {k: v.isoformat() if hasattr(v, "isoformat") else v for k, v in row.items()}
        row["upvote_count"] = p.upvote_count
        row["authors"] = [
            a.author.name for a in sorted(p.authorships.all(), key=lambda a: a.position)
        ]
        listing = getattr(p, "listing", None)
        row["listing"] = listing and [
            listing.day.isoformat(),
            listing.source,
            listing.submitted_at.isoformat(),
        ]
        doc = SearchDocument.objects.filter(paper=p).first()
        row["document"] = doc and [doc.authors, doc.text_hash]
        papers.append(row)
    return sorted(papers, key=lambda r: (r["arxiv_id"] or "", r["doi"] or "", r["slug"]))


def import_rules(batch_size: int) -> tuple[int, ...]:
    with RULES.open("rb") as f:
        counts = upsert(read_jsonl_file(f, "rules"), batch_size=batch_size)
    return counts.new, counts.updated, counts.unchanged, counts.rejected, counts.listed


def tsvectors_not_as_computed() -> int:
    """Documents whose tsvector is missing or differs from what the backend computes."""
    from broadsheet.search.backends.postgresql.backend import TSV

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM search_document d JOIN papers_paper p ON p.id = d.paper_id "
            f"WHERE d.tsv IS NULL OR d.tsv <> ({TSV})"
        )
        return cursor.fetchone()[0]


@pytest.mark.django_db
@pytest.mark.parametrize("batch_size", [4, 1000])
def test_the_bulk_path_stores_and_counts_what_the_per_row_path_did(batch_size):
    expected = json.loads(EXPECTED.read_text(encoding="utf-8"))

    counts = import_rules(batch_size)

    assert snapshot() == expected["papers"][str(batch_size)]
    assert list(counts) == expected["counts"][str(batch_size)]
    if connection.vendor == "postgresql" and settings.SEARCH_ENGINE == "database":
        assert tsvectors_not_as_computed() == 0
    # Again, onto what it stored: older versions and source votes come and go as before,
    # and it ends where it was.
    again = import_rules(batch_size)
    assert snapshot() == expected["papers"][str(batch_size)]
    assert list(again) == expected["again"][str(batch_size)]


# Batches that really commit, as outside tests: only then does a second connection write
# the tsvectors (from the second batch on).
@pytest.mark.django_db(transaction=True)
def test_tsvectors_written_by_the_second_connection_are_the_ones_computed_inline(settings):
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL mode's tsvectors")
    settings.SEARCH_ENGINE = "database"  # the engine that writes them
    expected = json.loads(EXPECTED.read_text(encoding="utf-8"))

    counts = import_rules(batch_size=4)

    assert snapshot() == expected["papers"]["4"]
    assert list(counts) == expected["counts"]["4"]
    assert tsvectors_not_as_computed() == 0


@pytest.mark.django_db(transaction=True)
def test_tsvectors_a_killed_import_left_unwritten_are_written_by_the_next_import(settings):
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL mode's tsvectors")
    settings.SEARCH_ENGINE = "database"  # the engine that writes them
    import_rules(batch_size=4)
    with connection.cursor() as cursor:
        # What a run killed after a batch committed and before its tsvectors were written
        # leaves behind.
        cursor.execute("UPDATE search_document SET tsv = NULL WHERE paper_id % 2 = 0")
        assert cursor.rowcount > 0
    assert tsvectors_not_as_computed() > 0

    counts = upsert([])

    assert counts.new == 0
    assert tsvectors_not_as_computed() == 0
