"""/healthz, /readyz, the 503 while the database is unusable, and the worker heartbeat."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import OperationalError
from django.utils import timezone

from broadsheet.lib.jobs import beat, latest_beat, process_name
from broadsheet.ops import health


def test_healthz_answers_without_touching_the_database(client):
    # No `db` fixture: any query would raise.
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"ok": True}
    assert "no-cache" in response["Cache-Control"]


def test_readyz_is_ready_on_a_migrated_database(client, db):
    response = client.get("/readyz")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["ready"] is True
    assert set(body["checks"]) == {"database", "migrations", "search_index", "worker"}
    assert all(c["ok"] for c in body["checks"].values())


def test_readyz_fails_with_the_reason_when_migrations_are_missing(client, db, monkeypatch):
    monkeypatch.setattr(health, "_migrations_done", False)

    class Pending:
        def __init__(self, connection):
            self.loader = type("L", (), {"graph": type("G", (), {"leaf_nodes": lambda s: []})()})

        def migration_plan(self, targets):
            migration = type("M", (), {"app_label": "papers", "name": "0099_future"})
            return [(migration, False)]

    monkeypatch.setattr(health, "MigrationExecutor", Pending)
    response = client.get("/readyz")
    assert response.status_code == 503
    check = response.json()["checks"]["migrations"]
    assert check == {
        "ok": False,
        "detail": "1 migrations not applied (papers.0099_future); run `broadsheet migrate`",
    }


def test_readyz_reports_a_missing_lexical_index(client, db, settings, tmp_path):
    from django.db import connection

    if connection.vendor != "sqlite":
        pytest.skip("PostgreSQL keeps its search index in the database")
    from broadsheet.search.models import LexicalIndexState

    LexicalIndexState.objects.update_or_create(id=1, defaults={"dirname": "v1-gone"})
    response = client.get("/readyz")
    assert response.status_code == 503
    assert "lexical index v1-gone is missing" in response.json()["checks"]["search_index"]["detail"]


def test_worker_heartbeat_is_reported_and_can_be_required(client, db, settings):
    settings.READYZ_REQUIRE_WORKER = True
    settings.WORKER_HEARTBEAT_MAX_AGE = 300
    response = client.get("/readyz")
    assert response.status_code == 503
    assert "no worker has ever run" in response.json()["checks"]["worker"]["detail"]

    name = process_name("worker")
    beat(name, timezone.now())
    assert latest_beat("worker").name == name
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"]["worker"]["detail"].startswith(f"{name} beat 0 s ago")

    from broadsheet.lib.models import Heartbeat

    Heartbeat.objects.update(beat_at=timezone.now() - dt.timedelta(minutes=10))
    response = client.get("/readyz")
    assert response.status_code == 503
    assert "stale after 300 s" in response.json()["checks"]["worker"]["detail"]

    settings.READYZ_REQUIRE_WORKER = False  # the default: reported, not required
    response = client.get("/readyz")
    assert response.status_code == 200
    assert "(not required)" in response.json()["checks"]["worker"]["detail"]


def _database_down(*args, **kwargs):
    raise OperationalError("connection to server at 127.0.0.1 failed: Connection refused")


def _every_query_fails(execute, sql, params, many, context):
    _database_down()


@pytest.mark.parametrize("path", ["/", "/papers/trending", "/search?q=graph"])
def test_a_database_outage_is_a_clean_503_page_not_a_traceback(client, db, path):
    from django.db import connection

    client.raise_request_exception = False
    with connection.execute_wrapper(_every_query_fails):
        response = client.get(path)
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert b"cannot use its database right now" in response.content
    assert b"Traceback" not in response.content


def test_a_database_outage_is_a_json_503_in_the_api(client, db):
    from django.db import connection

    client.raise_request_exception = False
    with connection.execute_wrapper(_every_query_fails):
        response = client.get("/api/v1/papers/2601.00001")
    assert response.status_code == 503
    assert response.json() == {"error": "the database is unavailable; try again shortly"}


def test_readyz_says_what_is_wrong_when_the_database_is_down(client, db, monkeypatch):
    monkeypatch.setattr(health, "check_database", _database_down)
    monkeypatch.setattr(health, "READY_CHECKS", [("database", health.check_database)])
    response = client.get("/readyz")
    assert response.status_code == 503
    assert "Connection refused" in response.json()["checks"]["database"]["detail"]


def test_the_worker_beats_when_it_starts_and_on_a_schedule(db, settings, monkeypatch):
    from apscheduler.schedulers.blocking import BlockingScheduler

    from broadsheet.lib.jobs import BEAT_SECONDS
    from broadsheet.lib.models import Heartbeat
    from broadsheet.ops.management.commands.worker import Command

    settings.INGEST_HF_DAILY = True  # a configured job, so the worker runs
    scheduled = {}

    def start(scheduler):
        scheduled.update({job.id: job for job in scheduler.get_jobs()})
        raise KeyboardInterrupt  # stop at once, as Ctrl-C would

    monkeypatch.setattr(BlockingScheduler, "start", start)
    monkeypatch.setattr(BlockingScheduler, "shutdown", lambda self, wait=True: None)
    # (On PostgreSQL it would also start and keep `search-follow`: test_node_follower.py.)
    Command().handle(once=False, no_search_follower=True)
    assert set(scheduled) == {
        "beat", "daily", "send-digests", "send-confirmations", "send-channels", "channel-tests",
        "new-papers", "thumbnails",
        "github-stars",
    }  # fmt: skip
    assert scheduled["beat"].trigger.interval.total_seconds() == BEAT_SECONDS
    beat_row = Heartbeat.objects.get()
    assert beat_row.name == process_name("worker")
    assert (timezone.now() - beat_row.beat_at).total_seconds() < 60
