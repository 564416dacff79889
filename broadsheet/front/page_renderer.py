"""`broadsheet render-pages`: renders changed cached pages in a process that serves nobody.

When a vote changes a page that is cached (front/page_cache.py), the page must be rendered
again: the day, week and month pages take tens of milliseconds of CPU. Rendered by a thread of
a serving process, that time is taken from the other threads of the process too (they share
one interpreter lock), so every reader served meanwhile waits. So a serving process only asks
for the rendering, by a file in the queue directory (BROADSHEET_DATA_DIR/cache/page-renders,
one per page: asking twice is asking once), and keeps serving the previous rendering; this
process renders it through the same Django stack, as the anonymous request it was, and puts
it in the cache. `broadsheet serve` runs it beside the web workers.

While no renderer runs (its heartbeat file is older than ALIVE_SECONDS: the development
server, a renderer that died), the serving process renders the page itself, as it would
without this process.
"""

from __future__ import annotations

import io
import json
import logging
import os
import signal
import tempfile
import time
from pathlib import Path
from wsgiref.util import setup_testing_defaults

from django.conf import settings
from django.http import HttpRequest

log = logging.getLogger("broadsheet.pages")

# Marks the renderer's own requests: the page cache renders and stores them, never serves.
RENDERING = "broadsheet.render_page"
HEARTBEAT = ".renderer"
HEARTBEAT_SECONDS = 1.0
ALIVE_SECONDS = 5.0
POLL_SECONDS = 0.05


def queue_dir() -> Path:
    return settings.DATA_DIR / "cache" / "page-renders"


def running() -> bool:
    """A renderer has said it is alive within ALIVE_SECONDS."""
    try:
        return time.time() - (queue_dir() / HEARTBEAT).stat().st_mtime < ALIVE_SECONDS
    except OSError:
        return False


def ask(request: HttpRequest, key: str) -> None:
    """Queue the rendering of this anonymous request's page (`key`: its cache key)."""
    wanted = {
        "scheme": request.scheme,
        "host": request.get_host(),
        "script_name": request.META.get("SCRIPT_NAME", ""),
        "path_info": request.path_info,
        "query": request.META.get("QUERY_STRING", ""),
    }
    directory = queue_dir()
    directory.mkdir(parents=True, exist_ok=True)
    # Written aside and renamed: the renderer never reads half a file.
    fd, temporary = tempfile.mkstemp(dir=directory, prefix=".ask-")
    with os.fdopen(fd, "w") as f:
        json.dump(wanted, f)
    os.replace(temporary, directory / f"{key.replace(':', '-')}.json")


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
        RENDERING: True,
    }
    proxy = settings.SECURE_PROXY_SSL_HEADER
    if proxy and wanted["scheme"] == "https":  # the scheme as the site takes it from a proxy
        environ[proxy[0]] = proxy[1]
    setup_testing_defaults(environ)  # the rest of what WSGI requires (SERVER_NAME, ...)
    return environ


def render(path: Path) -> bool:
    """Render the page asked for by one queue file; False if it was gone (taken elsewhere)."""
    from broadsheet.wsgi import application

    try:
        asked = path.stat().st_mtime_ns
        wanted = json.loads(path.read_text())
    except FileNotFoundError:
        return False
    except (OSError, ValueError) as e:
        log.warning("page renderer: dropping unreadable %s (%s)", path.name, e)
        path.unlink(missing_ok=True)
        return False
    try:
        answer = application(environ_of(wanted), lambda status, headers, exc_info=None: None)
        try:
            for _ in answer:
                pass
        finally:
            answer.close()
    except Exception:  # one broken page must not stop the others' renderings
        log.exception("page renderer: %s failed", wanted.get("path_info"))
    try:
        # Asked again while it rendered: kept, so that the newer change is rendered too.
        if path.stat().st_mtime_ns == asked:
            path.unlink()
    except FileNotFoundError:
        pass
    return True


def pending() -> list[Path]:
    """Queued pages, oldest ask first."""
    entries = []
    with os.scandir(queue_dir()) as it:
        for entry in it:
            if entry.name.endswith(".json"):
                try:
                    entries.append((entry.stat().st_mtime_ns, Path(entry.path)))
                except FileNotFoundError:
                    continue
    return [path for _, path in sorted(entries)]


def beat() -> None:
    queue_dir().mkdir(parents=True, exist_ok=True)
    (queue_dir() / HEARTBEAT).touch()


def run(once: bool = False) -> int:
    """Render what is asked, until SIGTERM or SIGINT (after the page in hand); returns how many
    pages were rendered. `once`: what is queued now, then return."""
    stopping = []
    if not once:
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stopping.append(True))
    rendered = 0
    last_beat = float("-inf")
    while not stopping:
        if time.monotonic() - last_beat >= HEARTBEAT_SECONDS:
            beat()
            last_beat = time.monotonic()
        for path in pending():
            if stopping:
                break
            rendered += render(path)
        if once:
            break
        time.sleep(POLL_SECONDS)
    if not once:
        (queue_dir() / HEARTBEAT).unlink(missing_ok=True)
    return rendered
