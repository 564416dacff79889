"""Upgrading keeps every row: a database made by the previous release's schema, with real
rows in it, migrated forward by this code's `broadsheet migrate`.

The previous release is main at 954a134 (upgrade_steps.PREVIOUS lists its migrations). The
old database is built by migrating a fresh one to exactly those, and its rows are written
through the historical models of that state, so the test keeps working as migrations are
added. Each step runs in a process of its own, against a fresh database of the suite's engine.
"""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from django.db import connection

from .conftest import child_env, run_broadsheet
from .test_scale_out import database_url

STEPS = str(Path(__file__).with_name("upgrade_steps.py"))


@pytest.fixture
def fresh_database_env(transactional_db, tmp_path):
    """The environment of a process using a new, empty database of the suite's engine."""
    env = child_env(tmp_path / "data")
    if connection.vendor != "postgresql":
        env.pop("BROADSHEET_DATABASE_URL", None)
        yield env
        return
    name = f"upgrade_{uuid.uuid4().hex[:8]}"
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    env["BROADSHEET_DATABASE_URL"] = database_url().rsplit("/", 1)[0] + f"/{name}"
    yield env
    with connection.cursor() as cursor:
        cursor.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


def step(name: str, snapshot: Path, env: dict[str, str]) -> str:
    result = subprocess.run(
        [sys.executable, STEPS, name, str(snapshot)], env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, f"{name}:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def test_upgrading_a_previous_release_database_keeps_every_row(fresh_database_env, tmp_path):
    snapshot = tmp_path / "snapshot.json"
    step("old", snapshot, fresh_database_env)
    out = run_broadsheet(["migrate"], fresh_database_env).stdout
    assert "Applying lib.0003_ops_heartbeat... OK" in out
    assert "checked" in step("check", snapshot, fresh_database_env)
