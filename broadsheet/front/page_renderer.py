"""`broadsheet render-pages`: renders changed cached pages in a process that serves nobody.

When a vote changes a page that is cached (front/page_cache.py), the page must be rendered
again: a day, month or trending page takes tens of milliseconds of CPU. Rendered by a thread
of a serving process, that time is taken from the other threads of the process too (they
share one interpreter lock), so every reader served meanwhile waits. So a web worker only asks
for the rendering (page_queue.py) and keeps serving the previous one; this process renders the
page through the same Django stack, as the anonymous request it was, and puts it in the cache.
`broadsheet serve` runs it beside the web workers.

While no renderer runs (its heartbeat is older than page_queue.ALIVE_SECONDS: the
development server, a renderer that died), the web worker renders the page itself.
"""

from __future__ import annotations

import io
import json
import logging
import signal
import time
from pathlib import Path
from wsgiref.util import setup_testing_defaults

from django.conf import settings

from broadsheet.front import page_queue
from broadsheet.lib.clients import PAGE_RENDERER

log = logging.getLogger("broadsheet.pages")

HEARTBEAT_SECONDS = 1.0
POLL_SECONDS = 0.05


def environ_of(wanted: dict) -> dict:
    """The WSGI environment of an anonymous GET of the page asked for."""
    environ: dict = {
        "REQUEST_METHOD": "GET",
        "SCRIPT_NAME": wanted["script_name"],
        "PATH_INFO": wanted["path_info"],
        "QUERY_STRING": wanted["query"],
        "HTTP_HOST": wanted["host"],
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.url_scheme": wanted["scheme"],
        "wsgi.input": io.BytesIO(),
        PAGE_RENDERER: True,
    }
    proxy = settings.SECURE_PROXY_SSL_HEADER
    if proxy and wanted["scheme"] == "https":  # the scheme as the site takes it from a proxy
        environ[proxy[0]] = proxy[1]
    setup_testing_defaults(environ)  # the rest of what WSGI requires (SERVER_NAME, ...)
    return environ


def render(wanted: dict) -> None:
    """Render one page into the cache (or out of it: a page gone since is dropped)."""
    from broadsheet.wsgi import application

    try:
        answer = application(environ_of(wanted), lambda status, headers, exc_info=None: None)
        try:
            for _ in answer:
                pass
        finally:
            answer.close()
    except Exception:  # one broken page must not stop the others' renderings
        log.exception("page renderer: %s failed", wanted.get("path_info"))


class Renderer:
    def __init__(self) -> None:
        self.rendered = 0
        self._beaten = float("-inf")

    def beat(self) -> None:
        """Say this renderer is alive, at most every HEARTBEAT_SECONDS."""
        if time.monotonic() - self._beaten >= HEARTBEAT_SECONDS:
            page_queue.beat()
            self._beaten = time.monotonic()

    def take(self, path: Path) -> None:
        """Render the page one ask is for."""
        try:
            asked = path.stat().st_mtime_ns
            wanted = json.loads(path.read_text())
            if not isinstance(wanted, dict) or not page_queue.ASK_KEYS <= wanted.keys():
                raise ValueError("not an ask")
        except FileNotFoundError:  # another renderer on this directory took it
            return
        except (OSError, ValueError) as e:  # unreadable, not JSON, not an ask
            log.warning("page renderer: dropping unreadable %s (%s)", path.name, e)
            path.unlink(missing_ok=True)
            return
        self.beat()
        render(wanted)
        self.rendered += 1
        try:
            # Asked again while it rendered: kept, so that the newer change is rendered too.
            if path.stat().st_mtime_ns == asked:
                path.unlink()
        except FileNotFoundError:
            pass


def warm_up() -> None:
    """Import what a rendering needs (every view, through the URLconf) before saying this
    renderer is alive: its first asks are then not slowed by a cold process."""
    from django.urls import get_resolver

    from broadsheet.wsgi import application  # noqa: F401 - loads the middleware

    get_resolver().url_patterns  # noqa: B018 - imports every view module


def run(once: bool = False) -> int:
    """Render what is asked until SIGTERM or SIGINT (after the page in hand); returns how many
    pages were rendered. `once`: the asks queued now, then return."""
    stopping = []
    if not once:
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stopping.append(True))
    warm_up()
    renderer = Renderer()
    while not stopping:
        renderer.beat()
        for path in page_queue.pending():
            if stopping:
                break
            renderer.take(path)
        if once:
            break
        time.sleep(POLL_SECONDS)
    if not once:
        page_queue.stop_beating()
    return renderer.rendered
