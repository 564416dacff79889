"""Settings come from BROADSHEET_* variables: all documented, strict, and deployable."""

from __future__ import annotations

import os
import re
import secrets
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SOURCE = REPO / "broadsheet"
ENV_EXAMPLE = REPO / ".env.example"
NAME = re.compile(r"\bBROADSHEET_[A-Z0-9_]*[A-Z0-9]\b")
# `NAME=value`, or a commented-out default `# NAME=value`, optionally after `export`.
LISTED = re.compile(r"^[ \t]*#?[ \t]*(?:export[ \t]+)?(BROADSHEET_[A-Z0-9_]+)[ \t]*=", re.M)


def broadsheet_command() -> list[str]:
    """The `broadsheet` console script of the interpreter running the tests."""
    beside = Path(sys.executable).parent / "broadsheet"
    if beside.exists():
        return [str(beside)]
    found = shutil.which("broadsheet")
    if found:
        return [found]
    return [sys.executable, "-m", "broadsheet"]


def run_broadsheet(args: list[str], tmp_path: Path, **overrides: str):
    env = {k: v for k, v in os.environ.items() if not k.startswith("BROADSHEET_")}
    # Both would be wrong in production; the check --deploy test must see a clean slate.
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    env["BROADSHEET_DATA_DIR"] = str(tmp_path / "data")
    env.update(overrides)
    return subprocess.run(
        [*broadsheet_command(), *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


def production_env() -> dict[str, str]:
    return {
        "BROADSHEET_DEBUG": "false",
        "BROADSHEET_HTTPS": "true",
        "BROADSHEET_SECRET_KEY": secrets.token_urlsafe(45),  # 60 characters
        "BROADSHEET_ALLOWED_HOSTS": "papers.example.org",
        "BROADSHEET_SITE_URL": "https://papers.example.org",
    }


def test_every_variable_read_is_listed_in_env_example():
    assert ENV_EXAMPLE.exists(), ".env.example is missing: it must list every BROADSHEET_* setting"
    used: dict[str, set[str]] = {}
    # The Python source, and the ./run launcher, which reads a few serving settings itself.
    sources = sorted(SOURCE.rglob("*.py")) + [p for p in [REPO / "run"] if p.is_file()]
    for path in sources:
        for name in NAME.findall(path.read_text(encoding="utf-8")):
            used.setdefault(name, set()).add(str(path.relative_to(REPO)))
    assert used, "found no BROADSHEET_* names in the source: is the pattern wrong?"
    listed = set(LISTED.findall(ENV_EXAMPLE.read_text(encoding="utf-8")))

    unlisted = {name: sorted(files) for name, files in sorted(used.items()) if name not in listed}
    assert unlisted == {}, "add these to .env.example (as NAME=default or # NAME=example)"


def test_production_settings_pass_check_deploy(tmp_path):
    result = run_broadsheet(
        ["check", "--deploy", "--fail-level", "WARNING"], tmp_path, **production_env()
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("name", "value"),
    [("BROADSHEET_DEBUG", "maybe"), ("BROADSHEET_TIME_ZONE", "Mars/Olympus")],
)
def test_a_bad_value_stops_start_up_naming_the_variable(tmp_path, name, value):
    result = run_broadsheet(["check"], tmp_path, **{**production_env(), name: value})
    assert result.returncode != 0
    assert name in result.stderr
    assert value in result.stderr


def test_a_missing_secret_key_without_debug_stops_start_up(tmp_path):
    env = production_env()
    del env["BROADSHEET_SECRET_KEY"]
    result = run_broadsheet(["check"], tmp_path, **env)
    assert result.returncode != 0
    assert "BROADSHEET_SECRET_KEY" in result.stderr


def test_help_lists_our_commands(tmp_path):
    result = run_broadsheet(["--help"], tmp_path, BROADSHEET_DEBUG="true")
    assert result.returncode == 0, result.stderr
    assert "load-sample" in result.stdout
