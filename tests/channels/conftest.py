"""Fixtures for the channel tests: a local webhook receiver (Apprise's `json://` posts to it),
channels pointed at it, papers listed today."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import time_machine
from factories import make_listing, make_user

from broadsheet.channels import vault
from broadsheet.channels.models import Channel

# A Saturday morning, after the channels' default 08:00.
NOW = dt.datetime(2026, 12, 5, 9, 0, tzinfo=dt.UTC)


@dataclass
class Received:
    path: str
    title: str
    message: str


@dataclass
class Receiver:
    """A webhook endpoint on 127.0.0.1. The path says how it answers: /gone/... 404, /busy/...
    503, /slow/... answers only after `slow_seconds`; anything else 200."""

    port: int = 0
    messages: list[Received] = field(default_factory=list)
    slow_seconds: float = 2.0
    lock: threading.Lock = field(default_factory=threading.Lock)
    # The sender to SIGKILL when the `kill_at`-th message arrives, before it is answered.
    kill_pid: int | None = None
    kill_at: int = 0
    arrived: int = 0

    def url(self, path: str) -> str:
        return f"json://127.0.0.1:{self.port}/{path.lstrip('/')}"

    def to(self, path: str) -> list[Received]:
        return [m for m in self.messages if m.path == "/" + path.lstrip("/")]

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        end = time.monotonic() + timeout
        while len(self.messages) < count and time.monotonic() < end:
            time.sleep(0.02)
        return self.messages


def _handler(receiver: Receiver):
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])) or b"{}")
            if self.path.startswith("/slow/"):
                time.sleep(receiver.slow_seconds)
            status = 200
            if self.path.startswith("/gone/"):
                status = 404
            elif self.path.startswith("/busy/"):
                status = 503
            elif not self.path.startswith("/slow/"):
                with receiver.lock:
                    receiver.arrived += 1
                    if receiver.kill_pid is not None and receiver.arrived == receiver.kill_at:
                        os.kill(receiver.kill_pid, signal.SIGKILL)
                        receiver.kill_pid = None
                        return  # never answered: the sender is gone anyway
                    receiver.messages.append(
                        Received(self.path, body.get("title", ""), body.get("message", ""))
                    )
            try:
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()
            except OSError:  # the sender gave up waiting (its timeout)
                pass

        def log_message(self, *args):
            pass

    return Handler


@pytest.fixture(scope="module")
def _receiver_server():
    receiver = Receiver()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(receiver))
    server.daemon_threads = True
    receiver.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield receiver
    server.shutdown()
    server.server_close()


@pytest.fixture
def receiver(_receiver_server):
    """The module's receiver, with nothing received yet."""
    receiver = _receiver_server
    with receiver.lock:
        receiver.messages.clear()
        receiver.kill_pid, receiver.kill_at, receiver.arrived = None, 0, 0
    return receiver


@pytest.fixture(autouse=True)
def channel_settings(settings):
    settings.TIME_ZONE = "UTC"
    settings.SITE_URL = "https://papers.example.org"
    settings.SEARCH_SEMANTIC = False  # saved searches by words: the tests are about channels
    settings.CHANNEL_KEY = ""
    settings.CHANNEL_TIMEOUT = 0.5
    settings.CHANNEL_RETRY_SECONDS = 60
    settings.CHANNEL_MAX_ATTEMPTS = 3
    settings.CHANNEL_FAILURE_LIMIT = 2
    return settings


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=True) as traveller:
        yield traveller


@pytest.fixture
def listed(db):
    """Four papers listed today with different votes (and one listed yesterday)."""
    day = NOW.date()
    at = NOW - dt.timedelta(hours=3)
    papers = [
        make_listing(day, f"Paper with {votes} votes", votes=votes, submitted_at=at).paper
        for votes in (40, 30, 20, 10)
    ]
    make_listing(day - dt.timedelta(days=1), "Yesterday's paper", votes=99)
    return papers


@pytest.fixture
def owner(db):
    return make_user("lab")


def make_channel(url: str, owner=None, **fields) -> Channel:
    fields.setdefault("name", "Lab chat")
    fields.setdefault("top_n", 3)
    return Channel.objects.create(
        owner=owner, url_sealed=vault.seal(url), url_hint=vault.mask(url), **fields
    )
