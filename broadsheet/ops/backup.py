"""Consistent backups of a running site, and restoring one into an empty database.

SQLite: the online backup API copies the database page by page while the site keeps serving
(readers and writers are not stopped; the copy is one consistent moment). PostgreSQL:
`pg_dump` in its custom format, from an exported snapshot in which the manifest's row counts
are also taken, so the counts describe exactly what the dump holds.

The search indexes are not copied: vectors and documents live in the database, and in SQLite
mode the tantivy and faiss files beside it are rebuilt from it on restore (`reindex`, no
re-embedding). In PostgreSQL mode the GIN and HNSW indexes are in the dump.

A backup is a directory: the database copy and manifest.json (engine, time, applied
migrations, rows per table).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
import subprocess
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.db import connection
from django.db.migrations.recorder import MigrationRecorder

MANIFEST = "manifest.json"
SQLITE_FILE = "broadsheet.sqlite3"
PG_FILE = "broadsheet.pgdump"
INDEX_NOTE = (
    "search indexes are not in the backup: vectors and documents are in the database; "
    "restore rebuilds the SQLite-mode index files with `broadsheet reindex` (no re-embedding)"
)


class BackupError(Exception):
    pass


def tables() -> list[str]:
    """Every table of every installed model (auto-created many-to-many tables included)."""
    names = {
        m._meta.db_table
        for m in apps.get_models(include_auto_created=True)
        if m._meta.managed and not m._meta.proxy
    }
    return sorted(names | {MigrationRecorder.Migration._meta.db_table})


def count_rows(cursor, names: list[str]) -> dict[str, int]:
    counts = {}
    for name in names:
        cursor.execute(f'SELECT count(*) FROM "{name}"')
        counts[name] = cursor.fetchone()[0]
    return counts


def _prepare_dest(dest: Path) -> None:
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise BackupError(f"{dest} exists and is not an empty directory")
    try:
        dest.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise BackupError(f"cannot create {dest}: {e.strerror}") from None


def _write_manifest(dest: Path, engine: str, counts: dict[str, int], migrations) -> dict:
    manifest = {
        "format": 1,
        "engine": engine,
        "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "migrations": sorted(f"{app}.{name}" for app, name in migrations),
        "rows": counts,
        "search_indexes": INDEX_NOTE,
    }
    (dest / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def read_manifest(src: Path) -> dict:
    try:
        return json.loads((src / MANIFEST).read_text())
    except FileNotFoundError:
        raise BackupError(f"{src} is not a Broadsheet backup (no {MANIFEST})") from None
    except (OSError, ValueError) as e:
        raise BackupError(f"{src / MANIFEST}: cannot read ({e})") from None


# SQLite ------------------------------------------------------------------------------------


def _sqlite_copy(source: Path, target: Path) -> None:
    """Copy with the online backup API (works while other processes write to `source`)."""
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=60)
    try:
        dst = sqlite3.connect(target)
        try:
            src.backup(dst, pages=4096, sleep=0.005)  # yields to writers between steps
        finally:
            dst.close()
    finally:
        src.close()


def backup_sqlite(db: Path, dest: Path) -> dict:
    _prepare_dest(dest)
    copy = dest / SQLITE_FILE
    try:
        _sqlite_copy(db, copy)
    except sqlite3.Error as e:
        copy.unlink(missing_ok=True)
        raise BackupError(f"backup of {db} failed: {e}") from None
    conn = sqlite3.connect(copy)
    try:
        conn.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
        counts = count_rows(conn.cursor(), tables())
        migrations = conn.execute("SELECT app, name FROM django_migrations").fetchall()
    finally:
        conn.close()
    return _write_manifest(dest, "sqlite", counts, migrations)


def _sqlite_is_empty(path: Path) -> bool:
    if not path.exists() or path.stat().st_size == 0:
        return True
    conn = sqlite3.connect(path)
    try:
        return (
            conn.execute("SELECT count(*) FROM sqlite_master WHERE type='table'").fetchone()[0] == 0
        )
    finally:
        conn.close()


def check_counts(manifest: dict, found: dict[str, int]) -> None:
    """Every table of the backup holds the rows its manifest recorded."""
    wrong = {t: (n, found.get(t)) for t, n in manifest["rows"].items() if found.get(t) != n}
    if wrong:
        raise BackupError(f"restored row counts differ from the backup's: {wrong}")


def _remove_sqlite(path: Path) -> None:
    for name in (path.name, f"{path.name}-journal", f"{path.name}-wal", f"{path.name}-shm"):
        path.with_name(name).unlink(missing_ok=True)


def restore_sqlite(src: Path, target: Path) -> dict:
    """Copy the backup to a temporary file beside `target`, check its row counts, then move
    it into place in one rename: a restore that fails leaves nothing behind, so a retry is
    not refused and the site never opens an unchecked database."""
    manifest = read_manifest(src)
    if not _sqlite_is_empty(target):
        raise BackupError(
            f"{target} already holds a database; restore only into an empty data directory"
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f"{target.name}.restoring")
    _remove_sqlite(temporary)  # what a killed restore left
    try:
        _sqlite_copy(src / SQLITE_FILE, temporary)
        conn = sqlite3.connect(temporary)
        try:
            found = count_rows(conn.cursor(), sorted(manifest["rows"]))
        finally:
            conn.close()
        check_counts(manifest, found)
        # The empty target's own journal files must not be applied to the restored copy.
        _remove_sqlite(target)
        os.replace(temporary, target)
    except sqlite3.Error as e:
        _remove_sqlite(temporary)
        raise BackupError(f"restore of {src} failed: {e}") from None
    except BaseException:
        _remove_sqlite(temporary)
        raise
    return manifest


# PostgreSQL --------------------------------------------------------------------------------


def _pg_args(db: dict) -> tuple[list[str], dict]:
    args = ["--dbname", db["NAME"]]
    if db.get("HOST"):
        args += ["--host", str(db["HOST"])]
    if db.get("PORT"):
        args += ["--port", str(db["PORT"])]
    if db.get("USER"):
        args += ["--username", db["USER"]]
    env = {**os.environ}
    if db.get("PASSWORD"):
        env["PGPASSWORD"] = db["PASSWORD"]
    return args, env


def _run_tool(command: list[str], env: dict) -> None:
    try:
        result = subprocess.run(command, env=env, capture_output=True, text=True)
    except FileNotFoundError:
        raise BackupError(
            f"{command[0]} not found: install PostgreSQL's client tools or set "
            "BROADSHEET_PG_DUMP / BROADSHEET_PG_RESTORE"
        ) from None
    if result.returncode != 0:
        raise BackupError(f"{Path(command[0]).name} failed: {result.stderr.strip()[-2000:]}")


def backup_postgresql(db: dict, dest: Path) -> dict:
    import psycopg

    _prepare_dest(dest)
    args, env = _pg_args(db)
    conninfo = {k: v for k, v in (("dbname", db["NAME"]), ("host", db.get("HOST")),
                ("port", db.get("PORT")), ("user", db.get("USER")),
                ("password", db.get("PASSWORD"))) if v}  # fmt: skip
    # The counts and the dump see the same snapshot, held open until pg_dump has taken it.
    with psycopg.connect(**conninfo) as conn:
        conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        snapshot = conn.execute("SELECT pg_export_snapshot()").fetchone()[0]
        counts = count_rows(conn.cursor(), tables())
        migrations = conn.execute("SELECT app, name FROM django_migrations").fetchall()
        _run_tool(
            [settings.PG_DUMP, "--format=custom", "--no-owner", "--no-privileges",
             f"--snapshot={snapshot}", "--file", str(dest / PG_FILE), *args],
            env,
        )  # fmt: skip
    return _write_manifest(dest, "postgresql", counts, migrations)


def _pg_connect(db: dict, **kwargs):
    import psycopg

    return psycopg.connect(
        dbname=db["NAME"], host=db.get("HOST") or None, port=db.get("PORT") or None,
        user=db.get("USER") or None, password=db.get("PASSWORD") or None, **kwargs,
    )  # fmt: skip


# Relations of the current schema, by kind: tables, partitioned tables, views, materialized
# views, sequences, foreign tables.
_PG_RELATIONS = """
    SELECT c.relname, c.relkind FROM pg_class c
    WHERE c.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = current_schema())
      AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
"""


# Functions of the current schema that no extension owns (the migrations' trigger functions).
_PG_FUNCTIONS = """
    SELECT p.oid::regprocedure::text FROM pg_proc p
    WHERE p.pronamespace = (SELECT oid FROM pg_namespace WHERE nspname = current_schema())
      AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e')
"""


def _pg_relations(db: dict) -> dict[str, str]:
    with _pg_connect(db) as conn:
        found = dict(conn.execute(_PG_RELATIONS).fetchall())
        found.update((name, "function") for (name,) in conn.execute(_PG_FUNCTIONS).fetchall())
        return found


def _pg_drop_new(db: dict, before: dict[str, str]) -> None:
    """Drop the relations a failed restore created (the database had no tables before)."""
    from psycopg import sql

    kinds = {"r": "TABLE", "p": "TABLE", "f": "FOREIGN TABLE", "v": "VIEW",
             "m": "MATERIALIZED VIEW", "S": "SEQUENCE"}  # fmt: skip
    with _pg_connect(db) as conn:
        # Tables first: CASCADE takes their indexes, views and owned sequences with them.
        for kind in ("r", "p", "f", "m", "v", "S"):
            for name, found_kind in conn.execute(_PG_RELATIONS).fetchall():
                if found_kind == kind and name not in before:
                    conn.execute(
                        sql.SQL("DROP {} IF EXISTS {} CASCADE").format(
                            sql.SQL(kinds[kind]), sql.Identifier(name)
                        )
                    )
        for (signature,) in conn.execute(_PG_FUNCTIONS).fetchall():
            if signature not in before:  # e.g. papers_content_commit()
                conn.execute(
                    sql.SQL("DROP FUNCTION IF EXISTS {} CASCADE").format(sql.SQL(signature))
                )


def restore_postgresql(src: Path, db: dict) -> dict:
    """pg_restore in one transaction (a failed one writes nothing), then the row counts
    checked; if they differ, everything the restore created is dropped again, so a retry is
    not refused and the site never serves an unchecked database."""
    manifest = read_manifest(src)
    before = _pg_relations(db)
    if any(kind in "rp" for kind in before.values()):
        raise BackupError(
            f"database {db['NAME']} already has tables; restore only into an empty one"
        )
    args, env = _pg_args(db)
    _run_tool(
        [settings.PG_RESTORE, "--no-owner", "--no-privileges", "--exit-on-error",
         "--single-transaction", *args, str(src / PG_FILE)],
        env,
    )  # fmt: skip
    try:
        import psycopg

        with _pg_connect(db) as conn:
            try:
                found = count_rows(conn.cursor(), sorted(manifest["rows"]))
            except psycopg.Error as e:
                raise BackupError(f"restore of {src} failed: {e}") from None
        check_counts(manifest, found)
    except BaseException:
        _pg_drop_new(db, before)
        raise
    return manifest


# The site's own database -------------------------------------------------------------------


def backup(dest: Path) -> dict:
    if connection.vendor == "postgresql":
        return backup_postgresql(connection.settings_dict, dest)
    return backup_sqlite(Path(connection.settings_dict["NAME"]), dest)


def restore(src: Path) -> dict:
    manifest = read_manifest(src)
    if manifest.get("engine") != connection.vendor:
        raise BackupError(
            f"this is a {manifest.get('engine')} backup and the site runs on {connection.vendor}: "
            "move between engines with `broadsheet export jsonl` and `broadsheet ingest jsonl`"
        )
    if connection.vendor == "postgresql":
        return restore_postgresql(src, connection.settings_dict)
    target = Path(connection.settings_dict["NAME"])
    connection.close()
    return restore_sqlite(src, target)
