"""`broadsheet serve`: gunicorn settings, and a real server answering on its port."""

from __future__ import annotations

import pytest

from broadsheet.ops.management.commands.serve import gunicorn_options

from .conftest import child_env, run_broadsheet


def test_gunicorn_options_are_production_defaults(settings):
    options = gunicorn_options("127.0.0.1:8000,unix:/run/bs.sock", 3, 4, 30)
    assert options["bind"] == ["127.0.0.1:8000", "unix:/run/bs.sock"]
    assert (options["workers"], options["threads"], options["worker_class"]) == (3, 4, "gthread")
    assert options["timeout"] == options["graceful_timeout"] == 30
    assert options["logconfig_dict"] is settings.LOGGING
    assert options["control_socket_disable"] is True


@pytest.mark.own_sqlite_site
def test_bad_serving_settings_are_a_clear_error(tmp_path):
    env = child_env(tmp_path, BROADSHEET_THREADS="many")
    env.pop("BROADSHEET_DATABASE_URL", None)
    result = run_broadsheet(["serve", "--no-prepare"], env, check=False)
    assert result.returncode == 1
    assert "BROADSHEET_THREADS='many': expected an integer" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.own_sqlite_site
def test_serve_migrates_a_new_site_and_serves_pages_and_static_files(tmp_path, start_server):
    env = child_env(tmp_path / "site", BROADSHEET_SEARCH_SEMANTIC="false")
    env.pop("BROADSHEET_DATABASE_URL", None)  # a fresh SQLite site (PostgreSQL: scale-out test)
    server = start_server(env, "--workers", "1", "--threads", "2")
    server.wait_ready()
    assert server.request("GET", "/healthz") == (200, {"ok": True})
    status, page = server.request("GET", "/")
    assert status == 200 and "Broadsheet" in page
    css = page.split('href="/static/front/site.')[1].split('"')[0]
    assert server.request("GET", f"/static/front/site.{css}")[0] == 200  # whitenoise, hashed
    log = server.log.read_text()
    assert "Applying lib.0003_ops_heartbeat... OK" in log
    assert "GET / 200" in log  # the request log line
