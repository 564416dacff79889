"""Structured logs: JSON lines with the request's and the job's fields."""

from __future__ import annotations

import json
import logging

import pytest

from broadsheet.ingest.upsert import Counts
from broadsheet.lib.jobs import run_exclusive
from broadsheet.ops.logs import JsonFormatter

from .conftest import child_env, run_broadsheet


def test_json_formatter_makes_one_object_with_the_extra_fields():
    record = logging.LogRecord(
        "broadsheet.jobs", logging.INFO, "x.py", 1, "job %s done", ("a",), None
    )
    record.counts = {"new": 3}
    record.seconds = 1.5
    line = JsonFormatter().format(record)
    assert "\n" not in line
    data = json.loads(line)
    assert data["message"] == "job a done"
    assert data["level"] == "INFO" and data["logger"] == "broadsheet.jobs"
    assert data["counts"] == {"new": 3} and data["seconds"] == 1.5
    assert data["time"].endswith("+00:00")


def test_json_formatter_keeps_the_traceback_inside_the_line():
    try:
        raise ValueError("boom\nsecond line")
    except ValueError:
        import sys

        record = logging.LogRecord("x", logging.ERROR, "x.py", 1, "failed", (), sys.exc_info())
    data = json.loads(JsonFormatter().format(record))
    assert "ValueError: boom" in data["exception"]


def test_every_request_is_logged_with_status_and_duration(client, member, caplog):
    client.force_login(member)
    with caplog.at_level(logging.INFO, logger="broadsheet.requests"):
        client.get("/papers/trending")
        client.get("/no-such-page")
        client.get("/healthz")  # load balancer polls stay out of the INFO log
    records = [r for r in caplog.records if r.name == "broadsheet.requests"]
    assert [(r.method, r.path, r.status) for r in records] == [
        ("GET", "/papers/trending", 200),
        ("GET", "/no-such-page", 404),
    ]
    assert all(r.duration_ms >= 0 for r in records)
    assert records[0].user_id == member.pk


def test_a_job_logs_its_counts_and_duration(db, caplog):
    with caplog.at_level(logging.INFO, logger="broadsheet.jobs"):
        run_exclusive("test-job", lambda: Counts(new=2, updated=1))
    done = [r for r in caplog.records if getattr(r, "ok", None) is True]
    assert len(done) == 1
    assert done[0].job == "test-job"
    assert done[0].counts == {"new": 2, "updated": 1, "unchanged": 0, "rejected": 0, "listed": 0}
    assert done[0].seconds >= 0


def test_a_failed_job_logs_the_error_with_its_duration(db, caplog):
    def job():
        raise RuntimeError("arXiv said no")

    with caplog.at_level(logging.INFO, logger="broadsheet.jobs"), pytest.raises(RuntimeError):
        run_exclusive("bad-job", job)
    failed = [r for r in caplog.records if getattr(r, "ok", None) is False]
    assert failed[0].job == "bad-job" and failed[0].exc_info


def test_json_log_format_writes_json_lines_from_a_real_process(tmp_path):
    env = child_env(tmp_path, BROADSHEET_LOG_FORMAT="json", BROADSHEET_DEBUG="true")
    code = "import logging; logging.getLogger('broadsheet.x').warning('hi', extra={'n': 7})"
    result = run_broadsheet(["shell", "-c", code], env)
    lines = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    assert {"level": "WARNING", "logger": "broadsheet.x", "message": "hi", "n": 7}.items() <= (
        lines[-1].items()
    )


def test_an_unknown_log_format_stops_the_program_with_its_name(tmp_path):
    result = run_broadsheet(
        ["check"], child_env(tmp_path, BROADSHEET_LOG_FORMAT="xml"), check=False
    )
    assert result.returncode != 0
    assert "BROADSHEET_LOG_FORMAT='xml': expected text or json" in result.stderr
