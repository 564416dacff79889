"""Fixtures for ingest tests: a local HTTP server replaying recorded responses, a fake clock.

The replay server stands in for arXiv and Hugging Face. A test scripts, per path and query,
the answers to give in order (status, headers, body, or a dropped connection); the server
records every request it gets, so a test can check what was asked (a resumption token, a
`from` date, the page numbers). A request nobody scripted gets 418, which the client does
not retry, so a test that asks for more than it expected fails at once and says why.
"""

from __future__ import annotations

import threading
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from broadsheet.ingest.http import PoliteClient

FIXTURES = Path(__file__).parent / "fixtures"


def fixture(name: str) -> bytes:
    """A recorded response body from tests/ingest/fixtures/."""
    return (FIXTURES / name).read_bytes()


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    # Close the connection without answering (a dropped connection, a killed proxy).
    drop: bool = False
    # Answer only once this is set (a slow source; a test acting while a request waits).
    hold: threading.Event | None = None


def ok(body: bytes | str, content_type: str = "application/atom+xml; charset=utf-8") -> Reply:
    if isinstance(body, str):
        body = body.encode()
    return Reply(200, body, {"Content-Type": content_type})


@dataclass
class Request:
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    # The fake clock's time when the request arrived, when the server was given one.
    at: float | None = None


@dataclass
class Route:
    path: str
    query: dict[str, str]
    replies: list[Reply]
    # Keep giving the last reply once the others are used (a server that stays down).
    repeat_last: bool

    def matches(self, path: str, query: dict[str, str]) -> bool:
        return path == self.path and all(query.get(k) == v for k, v in self.query.items())


class ReplayServer:
    def __init__(self) -> None:
        self.routes: list[Route] = []
        self.requests: list[Request] = []
        self.clock: Callable[[], float] | None = None
        self._lock = threading.Lock()
        self._http = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._http.daemon_threads = True
        self.port = self._http.server_address[1]
        # A short poll interval: shutdown() waits for the serving loop to notice.
        self._thread = threading.Thread(
            target=self._http.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )

    def url(self, path: str = "") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def script(
        self,
        path: str,
        *replies: Reply,
        query: dict[str, str] | None = None,
        repeat_last: bool = False,
    ) -> None:
        """Answer requests for `path` whose query includes `query` with `replies`, in order.

        A later script for the same path and query replaces the earlier one, so a test can
        change what the "source" says between two runs."""
        query = {k: str(v) for k, v in (query or {}).items()}
        with self._lock:
            self.routes = [r for r in self.routes if (r.path, r.query) != (path, query)]
            # Most specific first: a route that names more of the query wins.
            self.routes.append(Route(path, query, list(replies), repeat_last))
            self.routes.sort(key=lambda r: -len(r.query))

    def next_reply(self, path: str, query: dict[str, str]) -> Reply:
        with self._lock:
            for route in self.routes:
                if route.matches(path, query) and route.replies:
                    if len(route.replies) == 1 and route.repeat_last:
                        return route.replies[0]
                    return route.replies.pop(0)
        return Reply(418, f"unscripted request: {path} {query}".encode())

    def unused(self) -> list[tuple[str, dict[str, str], int]]:
        """Scripted replies nobody asked for: (path, query, how many)."""
        return [
            (r.path, r.query, len(r.replies))
            for r in self.routes
            if r.replies and not (r.repeat_last and len(r.replies) == 1)
        ]

    def asked(self, path: str | None = None) -> list[dict[str, str]]:
        """The query of every request (for `path`), in the order they came."""
        return [r.query for r in self.requests if path is None or r.path == path]

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                url = urllib.parse.urlsplit(self.path)
                query = dict(urllib.parse.parse_qsl(url.query, keep_blank_values=True))
                at = server.clock() if server.clock is not None else None
                server.requests.append(Request(url.path, query, dict(self.headers), at))
                reply = server.next_reply(url.path, query)
                if reply.hold is not None:
                    reply.hold.wait(timeout=120)
                if reply.drop:
                    self.close_connection = True
                    return
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                self.wfile.write(reply.body)

            def log_message(self, format, *args) -> None:  # quiet: pytest shows failures
                pass

        return Handler

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._http.shutdown()
        self._http.server_close()
        self._thread.join(timeout=5)


@pytest.fixture
def replay():
    server = ReplayServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


class FakeClock:
    """A monotonic clock that only moves when something sleeps (or the test says so)."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def fake_clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def polite(fake_clock: FakeClock) -> PoliteClient:
    """A PoliteClient with arXiv's spacing and retries that never really sleeps."""
    return PoliteClient(
        min_interval=3.0, retries=3, backoff=5.0, timeout=5.0, clock=fake_clock,
        sleep=fake_clock.sleep,
    )  # fmt: skip


@pytest.fixture
def sources(settings, replay):
    """Every source pointed at the replay server."""
    settings.ARXIV_API_URL = replay.url("/api/query")
    settings.ARXIV_OAI_URL = replay.url("/oai")
    settings.HF_ENDPOINT = replay.url("")
    settings.ARXIV_REQUEST_INTERVAL = 0
    return replay
