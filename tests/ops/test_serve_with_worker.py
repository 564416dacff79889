"""`broadsheet serve --with-worker` (what ./run starts): the job worker runs beside the
server, sends the mail the pages promise, and stops with it."""

from __future__ import annotations

import http.cookiejar
import re
import signal
import time
import urllib.parse
import urllib.request

import pytest

from .conftest import child_env

pytestmark = pytest.mark.own_sqlite_site


def _worker_pid(log_text: str) -> int | None:
    found = re.search(r"started the job worker \(pid (\d+)\)", log_text)
    return int(found.group(1)) if found else None


def _alive(pid: int) -> bool:
    """Running (a zombie waiting for its reaper has ended)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def _wait_for(condition, timeout: float, what: str, log) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.5)
    raise AssertionError(f"{what} after {timeout} s:\n{log.read_text()}")


def _subscribe(url: str, email: str) -> str:
    """Subscribe through the form, as a visitor's browser does (CSRF cookie and field)."""
    opener = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
    )
    with opener.open(f"{url}/digests/subscribe", timeout=30) as response:
        form = response.read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form).group(1)
    data = urllib.parse.urlencode(
        {"csrfmiddlewaretoken": token, "email": email, "frequency": "daily"}
    ).encode()
    request = urllib.request.Request(f"{url}/digests/subscribe", data=data, method="POST")
    with opener.open(request, timeout=30) as response:
        return response.read().decode()


def test_the_worker_beside_the_server_prints_the_confirmation_mail(tmp_path, start_server):
    env = child_env(tmp_path / "site", BROADSHEET_SEARCH_SEMANTIC="false")
    env.pop("BROADSHEET_DATABASE_URL", None)  # a fresh SQLite site, as ./run makes
    env.pop("BROADSHEET_EMAIL_URL", None)  # the default: mail printed to the console
    server = start_server(env, "--with-worker", "--workers", "1", "--threads", "2")
    server.wait_ready()
    page = _subscribe(server.url, "reader@example.org")
    assert "reader@example.org" in page  # "check your inbox" page

    # The web request only queued the mail; the worker sends it (every minute).
    _wait_for(
        lambda: "Subject: Confirm your" in server.log.read_text(),
        timeout=120,
        what="no confirmation mail printed",
        log=server.log,
    )
    log = server.log.read_text()
    assert "To: reader@example.org" in log
    assert "/digests/confirm/" in log
    pid = _worker_pid(log)
    assert pid is not None and _alive(pid)

    server.process.send_signal(signal.SIGTERM)
    server.process.wait(timeout=60)
    _wait_for(lambda: not _alive(pid), 30, "the worker outlived the server", server.log)


def test_a_killed_server_takes_its_worker_with_it(tmp_path, start_server):
    env = child_env(tmp_path / "site", BROADSHEET_SEARCH_SEMANTIC="false")
    env.pop("BROADSHEET_DATABASE_URL", None)
    server = start_server(env, "--with-worker", "--workers", "1", "--threads", "1")
    server.wait_ready()
    _wait_for(lambda: _worker_pid(server.log.read_text()), 30, "no worker", server.log)
    pid = _worker_pid(server.log.read_text())
    assert _alive(pid)
    server.process.kill()  # no chance to clean up: the kernel tells the child
    server.process.wait(timeout=30)
    _wait_for(lambda: not _alive(pid), 30, "the worker outlived the server", server.log)
