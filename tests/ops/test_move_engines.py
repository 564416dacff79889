"""Moving a site from SQLite to PostgreSQL with `export jsonl` / `ingest jsonl` (the portable
path between engines; `backup` copies within one engine)."""

from __future__ import annotations

import json

import pytest
from django.core.management import call_command
from django.db import connection

from broadsheet.papers.models import Listing, Paper

from .conftest import child_env, run_broadsheet

EXTRA = [
    {"arxiv_id": "2401.01234v2", "title": "Causal   de Finetti: $\\mathcal{X}$",
     "authors": ["Ada Lovelace", "Émilie du Châtelet"], "categories": ["cs.LG", "stat.ML"],
     "published_at": "2024-01-02T03:04:05+00:00", "source_upvotes": 42,
     "listing_day": "2024-01-03", "listed_at": "2024-01-03T09:00:00+00:00",
     "listing_source": "hf"},
    {"doi": "10.1145/3292500.3330701", "title": "Known only by its DOI",
     "authors": ["Judea Pearl"]},
    {"arxiv_id": "hep-th/9901001", "title": "Hidden by a moderator", "hidden": True},
]  # fmt: skip


def test_a_sqlite_site_moves_to_postgresql_and_exports_the_same(transactional_db, tmp_path):
    if connection.vendor != "postgresql":
        pytest.skip("moves into the suite's PostgreSQL (runs on the postgresql backend)")
    sqlite_site = child_env(tmp_path / "sqlite-site")
    sqlite_site.pop("BROADSHEET_DATABASE_URL")
    run_broadsheet(["migrate", "-v0"], sqlite_site)
    run_broadsheet(["load-sample", "--day", "2026-06-23", "--no-arxiv"], sqlite_site)
    (tmp_path / "extra.jsonl").write_text("".join(json.dumps(r) + "\n" for r in EXTRA))
    run_broadsheet(["ingest", "jsonl", str(tmp_path / "extra.jsonl")], sqlite_site)
    run_broadsheet(["export", "jsonl", "-o", str(tmp_path / "from-sqlite.jsonl")], sqlite_site)

    call_command("ingest", "jsonl", str(tmp_path / "from-sqlite.jsonl"))
    call_command("export", "jsonl", "-o", str(tmp_path / "from-postgresql.jsonl"))

    exported = (tmp_path / "from-sqlite.jsonl").read_bytes()
    assert (tmp_path / "from-postgresql.jsonl").read_bytes() == exported
    assert Paper.objects.count() == 34 + 3 == len(exported.splitlines())
    assert Listing.objects.count() == 35
    assert Paper.objects.get(arxiv_id="hep-th/9901001").hidden is True
    paper = Paper.objects.get(arxiv_id="2401.01234")
    assert paper.votes == 42 and paper.listing.source == "hf"
