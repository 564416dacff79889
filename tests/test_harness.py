"""The test machinery itself: the database each run is on, SMTP and browser fixtures."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from django.core import mail
from django.db import connection


def test_database_is_the_backend_the_runner_asked_for(db_vendor):
    # ./test sets TEST_DATABASE_VENDOR for each run, so a settings mistake that silently
    # put the "PostgreSQL" run on SQLite cannot pass unnoticed.
    expected = os.environ.get("TEST_DATABASE_VENDOR")
    if not expected:
        reason = "TEST_DATABASE_VENDOR is not set (run the suite through ./test)"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    assert db_vendor == expected


def test_sqlite_uses_wal_journal_and_a_busy_timeout(db_vendor):
    if db_vendor != "sqlite":
        pytest.skip("SQLite only")
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode")
        assert cursor.fetchone()[0] == "wal"
        cursor.execute("PRAGMA busy_timeout")
        assert cursor.fetchone()[0] >= 1000
        cursor.execute("PRAGMA foreign_keys")
        assert cursor.fetchone()[0] == 1


def test_postgresql_has_pgvector_with_hnsw(db_vendor):
    if db_vendor != "postgresql":
        pytest.skip("PostgreSQL only")
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version_num")
        assert int(cursor.fetchone()[0]) >= 160000
        cursor.execute("CREATE EXTENSION IF NOT EXISTS vector")
        cursor.execute("CREATE TABLE harness_vectors (id int PRIMARY KEY, embedding vector(3))")
        cursor.execute(
            "INSERT INTO harness_vectors VALUES "
            "(1, '[1,0,0]'), (2, '[0,1,0]'), (3, '[0,0,1]'), (4, '[0.9,0.1,0]')"
        )
        cursor.execute(
            "CREATE INDEX harness_vectors_hnsw ON harness_vectors "
            "USING hnsw (embedding vector_cosine_ops)"
        )
        cursor.execute("SET LOCAL enable_seqscan = off")
        query = "SELECT id FROM harness_vectors ORDER BY embedding <=> '[1,0,0]' LIMIT 2"
        cursor.execute("EXPLAIN " + query)
        plan = "\n".join(row[0] for row in cursor.fetchall())
        assert "harness_vectors_hnsw" in plan
        cursor.execute(query)
        assert [row[0] for row in cursor.fetchall()] == [1, 4]
    # The test's transaction is rolled back: the table and index go with it.


def test_smtp_server_receives_what_django_sends(smtp_server, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = smtp_server.host
    settings.EMAIL_PORT = smtp_server.port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_HOST_USER = ""

    sent = mail.send_mail(
        "Today’s papers", "Three new papers.", "digest@example.org", ["ada@example.org"]
    )

    assert sent == 1
    [received] = smtp_server.wait_for(1)
    assert received.rcpt_tos == ["ada@example.org"]
    assert received.message["Subject"] == "Today’s papers"
    assert received.message.get_content().strip() == "Three new papers."


def test_client_member_is_logged_in(client_member, member):
    assert client_member.session["_auth_user_id"] == str(member.pk)


def test_browser_loads_static_files_from_live_server(page, live_server):
    statics = []
    page.on("response", lambda r: statics.append(r) if "/static/" in r.url else None)

    response = page.goto(f"{live_server.url}/admin/login/")
    page.wait_for_load_state("load")

    assert response is not None and response.ok
    assert statics, "the admin login page links no static files?"
    assert [r.url for r in statics if r.status != 200] == []


PROBE = """
from pathlib import Path

from django.conf import settings


def test_probe():
    Path("seen").write_text(f"{settings.SECRET_KEY}\\n{settings.DATA_DIR}")
"""


def test_bare_pytest_runs_with_no_broadsheet_variables(tmp_path):
    # `pytest` straight from the virtualenv, in a shell without BROADSHEET_* (no ./test):
    # the run gets the test key and a data directory of its own, removed when it ends.
    repo = Path(__file__).resolve().parent.parent
    (tmp_path / "test_probe.py").write_text(textwrap.dedent(PROBE))
    env = {k: v for k, v in os.environ.items() if not k.startswith("BROADSHEET_")}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env.pop("PYTHONPATH", None)
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-c", str(repo / "pyproject.toml"), "-q"]
        + ["-p", "no:cacheprovider", "-p", "no:randomly", str(tmp_path / "test_probe.py")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    key, data_dir = (tmp_path / "seen").read_text().splitlines()
    assert key == "test-only-secret-key-never-use-it-in-production"
    assert not Path(data_dir).is_relative_to(tmp_path)  # not ./data
    assert not Path(data_dir).exists()
