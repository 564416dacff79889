"""`broadsheet backup` / `restore`: every row of every table comes back, on both engines."""

from __future__ import annotations

import json
import sqlite3
import uuid
from pathlib import Path

import pytest
from django.db import connection

from broadsheet.ops import backup as bk
from broadsheet.papers.models import Listing, Paper, Upvote

from .conftest import child_env, run_broadsheet


def contents(cursor, tables: list[str]) -> dict[str, list[tuple]]:
    """Every row of every table, in a stable order (generic: new apps' tables included)."""
    out = {}
    for table in tables:
        cursor.execute(f'SELECT * FROM "{table}"')
        out[table] = sorted(cursor.fetchall(), key=repr)
    return out


INDEXES = (
    "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'search_document' ORDER BY 1"
)


def pg_connect(db: dict):
    import psycopg

    return psycopg.connect(
        dbname=db["NAME"], host=db["HOST"], port=db["PORT"], user=db["USER"] or None,
        password=db["PASSWORD"] or None, autocommit=True,
    )  # fmt: skip


@pytest.fixture
def empty_pg_database(transactional_db):
    if connection.vendor != "postgresql":
        pytest.skip("a PostgreSQL database to restore into")
    name = f"restore_{uuid.uuid4().hex[:8]}"
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    db = {**connection.settings_dict, "NAME": name}
    yield db
    with connection.cursor() as cursor:
        cursor.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


def test_backup_then_restore_brings_back_every_row_sqlite(populated, tmp_path):
    if connection.vendor != "sqlite":
        pytest.skip("SQLite mode (the PostgreSQL variant runs on the postgresql backend)")
    manifest = bk.backup(tmp_path / "bk")
    assert manifest["rows"]["papers_upvote"] == 3
    target = tmp_path / "new-data" / "broadsheet.sqlite3"
    bk.restore_sqlite(tmp_path / "bk", target)

    tables = bk.tables()
    # Both read with the same plain driver, so values compare as stored.
    source = sqlite3.connect(connection.settings_dict["NAME"])
    before = contents(source.cursor(), tables)
    source.close()
    restored = sqlite3.connect(target)
    after = contents(restored.cursor(), tables)
    restored.close()
    assert after == before
    assert len(after["papers_paper"]) == Paper.objects.count() == 5
    assert len(after["papers_listing"]) == Listing.objects.count() == 3
    assert len(after["papers_upvote"]) == Upvote.objects.count() == 3


def test_backup_then_restore_brings_back_every_row_postgresql(
    populated, pg_tools, empty_pg_database, tmp_path
):
    manifest = bk.backup(tmp_path / "bk")
    assert (tmp_path / "bk" / bk.PG_FILE).stat().st_size > 0
    bk.restore_postgresql(tmp_path / "bk", empty_pg_database)

    tables = bk.tables()
    with pg_connect(connection.settings_dict) as conn:
        before = contents(conn.cursor(), tables)
    with pg_connect(empty_pg_database) as conn:
        after = contents(conn.cursor(), tables)
        # The search indexes (GIN on the tsvector, pgvector HNSW) are in the dump too.
        indexes = conn.execute(INDEXES).fetchall()
    with pg_connect(connection.settings_dict) as conn:
        assert indexes == conn.execute(INDEXES).fetchall()
    assert after == before
    assert {t: len(rows) for t, rows in after.items()} == manifest["rows"]
    assert len(after["papers_paper"]) == Paper.objects.count() == 5


def test_restore_refuses_a_database_that_is_not_empty(populated, pg_tools, tmp_path):
    bk.backup(tmp_path / "bk")
    with pytest.raises(bk.BackupError, match="already"):
        if connection.vendor == "sqlite":
            bk.restore_sqlite(tmp_path / "bk", Path(connection.settings_dict["NAME"]))
        else:
            bk.restore_postgresql(tmp_path / "bk", connection.settings_dict)


def test_backup_refuses_a_directory_that_is_not_empty(populated, pg_tools, tmp_path):
    (tmp_path / "bk").mkdir()
    (tmp_path / "bk" / "something").write_text("keep me")
    with pytest.raises(bk.BackupError, match="not an empty directory"):
        bk.backup(tmp_path / "bk")
    assert (tmp_path / "bk" / "something").read_text() == "keep me"


def test_restore_of_a_directory_that_is_no_backup_is_a_clear_error(tmp_path):
    with pytest.raises(bk.BackupError, match="not a Broadsheet backup"):
        bk.read_manifest(tmp_path)


@pytest.mark.own_sqlite_site
def test_backup_and_restore_commands_on_a_fresh_site(tmp_path):
    """The commands as an operator runs them: back up a site, restore into an empty data
    directory, and the restored site is ready (search index rebuilt)."""
    env = child_env(tmp_path / "site")
    env.pop("BROADSHEET_DATABASE_URL", None)  # SQLite: a PostgreSQL site is the test above
    run_broadsheet(["migrate", "-v0"], env)
    run_broadsheet(["load-sample", "--day", "2026-06-23", "--no-arxiv"], env)
    out = run_broadsheet(["backup", str(tmp_path / "bk")], env).stdout
    assert "Backed up sqlite database" in out

    env2 = {**env, "BROADSHEET_DATA_DIR": str(tmp_path / "restored")}
    out = run_broadsheet(["restore", str(tmp_path / "bk")], env2).stdout
    assert "Search: 34 papers in the lexical index" in out
    again = run_broadsheet(["restore", str(tmp_path / "bk")], env2, check=False)
    assert again.returncode == 1
    assert "restore only into an empty data directory" in again.stderr
    assert "Traceback" not in again.stderr


def tamper(backup_dir: Path, table: str = "papers_paper", by: int = 1) -> dict:
    """Make the manifest disagree with the copy it describes; returns the true manifest."""
    manifest = json.loads((backup_dir / bk.MANIFEST).read_text())
    wrong = {**manifest, "rows": {**manifest["rows"], table: manifest["rows"][table] + by}}
    (backup_dir / bk.MANIFEST).write_text(json.dumps(wrong))
    return manifest


def test_a_restore_whose_row_counts_differ_leaves_nothing_and_can_be_retried_sqlite(
    populated, tmp_path
):
    if connection.vendor != "sqlite":
        pytest.skip("SQLite mode (the PostgreSQL variant runs on the postgresql backend)")
    bk.backup(tmp_path / "bk")
    manifest = tamper(tmp_path / "bk")
    target = tmp_path / "new-data" / "broadsheet.sqlite3"

    with pytest.raises(bk.BackupError, match="row counts differ.*'papers_paper': \\(6, 5\\)"):
        bk.restore_sqlite(tmp_path / "bk", target)

    # Nothing the site would open, nothing left over beside it.
    assert list((tmp_path / "new-data").iterdir()) == []
    (tmp_path / "bk" / bk.MANIFEST).write_text(json.dumps(manifest))
    bk.restore_sqlite(tmp_path / "bk", target)
    restored = sqlite3.connect(target)
    assert restored.execute("SELECT count(*) FROM papers_paper").fetchone()[0] == 5
    restored.close()
    assert sorted(p.name for p in (tmp_path / "new-data").iterdir()) == ["broadsheet.sqlite3"]


def test_a_restore_whose_row_counts_differ_leaves_nothing_and_can_be_retried_postgresql(
    populated, pg_tools, empty_pg_database, tmp_path
):
    bk.backup(tmp_path / "bk")
    manifest = tamper(tmp_path / "bk", "papers_listing", by=-1)

    with pytest.raises(bk.BackupError, match="row counts differ.*'papers_listing': \\(2, 3\\)"):
        bk.restore_postgresql(tmp_path / "bk", empty_pg_database)

    with pg_connect(empty_pg_database) as conn:
        left = conn.execute(
            "SELECT relname FROM pg_class WHERE relnamespace = 'public'::regnamespace "
            "AND relkind IN ('r', 'p', 'v', 'm', 'S')"
        ).fetchall()
        functions = conn.execute(
            "SELECT proname FROM pg_proc WHERE proname = 'papers_content_commit'"
        ).fetchall()
    assert left == []
    assert functions == []  # a trigger function of the migrations
    (tmp_path / "bk" / bk.MANIFEST).write_text(json.dumps(manifest))
    bk.restore_postgresql(tmp_path / "bk", empty_pg_database)
    with pg_connect(empty_pg_database) as conn:
        assert conn.execute("SELECT count(*) FROM papers_listing").fetchone()[0] == 3
