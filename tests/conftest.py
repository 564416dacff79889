"""Shared fixtures: members, a real SMTP server, a headless browser.

Under CI=true a missing piece of the test machine (Chromium, PostgreSQL) fails the run
instead of skipping, so a green CI means every test really ran.
"""

from __future__ import annotations

import email
import email.policy
import os
import socket
import time
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path

import pytest

# Playwright's sync API runs an event loop in the test thread; Django would then refuse
# ORM calls made from that thread (by the test or the live server's fixtures).
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = Path("/usr/bin/chromium")
# Browser tests save screenshots here (git-ignored) for a human to look at.
ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]
BROWSER_FIXTURES = {"browser", "page"}


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def missing(reason: str) -> None:
    """Skip on a developer's machine; fail in CI, where everything must be present."""
    if in_ci():
        pytest.fail(f"{reason} (required under CI=true)", pytrace=False)
    pytest.skip(reason)


def pytest_configure(config: pytest.Config) -> None:
    from django.conf import settings

    # The SQLite test database lives under the data directory; settings do not create it.
    Path(settings.DATA_DIR).mkdir(parents=True, exist_ok=True)
    # whitenoise warns when STATIC_ROOT is missing; tests never run collectstatic.
    config.addinivalue_line("filterwarnings", "ignore:No directory at:UserWarning")
    # live_server serves static files through the finders; whitenoise's manifest storage
    # would want a collectstatic manifest and 404 (or raise) on every {% static %}.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    # Tests write and read back within a second: anonymous pages check the content version
    # on every request (front/page_cache.py), so none is served from before a change.
    settings.PAGE_CACHE_CHECK_SECONDS = 0
    _keep_content_types_across_flushes()


# Tables a transactional test's flush keeps: what migrate's post_migrate signal fills in (content
# types and permissions). Emptied, the signal makes them again after every such test, which cost
# more than the flush itself.
KEPT_BY_FLUSH = {"django_content_type", "auth_permission"}


def _keep_content_types_across_flushes() -> None:
    from django.core.management.commands import flush

    def sql_flush(style, connection, reset_sequences=True, allow_cascade=False):
        tables = connection.introspection.django_table_names(
            only_existing=True, include_views=False
        )
        kept = [t for t in tables if t not in KEPT_BY_FLUSH]
        return connection.ops.sql_flush(
            style, kept, reset_sequences=reset_sequences, allow_cascade=allow_cascade
        )

    flush.sql_flush = sql_flush
    flush.emit_post_migrate_signal = lambda *args, **kwargs: None


# How a test reaches the suite's database: pytest-django's fixtures and marker, or `target` (a
# site in a subprocess, on a database of its own in the suite's server).
DATABASE_FIXTURES = {
    "db", "transactional_db", "django_db_reset_sequences", "django_db_serialized_rollback",
    "live_server", "target",
}  # fmt: skip


def reaches_database(item: pytest.Item) -> bool:
    return bool(
        item.get_closest_marker("django_db")
        or DATABASE_FIXTURES & set(getattr(item, "fixturenames", ()))
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Tests that use the browser carry the `browser` marker, so `-m "not browser"` works.
    # Every test that touches the database runs on both; the rest (parsers, the embedding
    # model, settings) would only repeat themselves, so they and the tests of a SQLite site of
    # their own run in the SQLite run only.
    from django.conf import settings

    postgresql = "postgresql" in settings.DATABASES["default"]["ENGINE"]
    for item in items:
        if BROWSER_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.browser)
        if postgresql and item.get_closest_marker("own_sqlite_site"):
            item.add_marker(pytest.mark.skip(reason="a SQLite site of its own: the SQLite run"))
        elif postgresql and not reaches_database(item):
            item.add_marker(pytest.mark.skip(reason="touches no database: the SQLite run"))


@pytest.fixture(autouse=True)
def _no_hidden_database(request):
    """A test that takes a database fixture by `request.getfixturevalue` looks database-free
    at collection, and would be left out of the PostgreSQL run: it must say so up front."""
    yield
    if not reaches_database(request.node) and DATABASE_FIXTURES & set(request.fixturenames):
        pytest.fail(
            "this test reaches the database through request.getfixturevalue; mark it "
            "@pytest.mark.django_db so that it runs on PostgreSQL too"
        )


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# Database ----------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _page_cache_per_test(request):
    """A test's transaction never commits, so on PostgreSQL the content versions' commit-time
    trigger (papers migration 0010) runs at each statement instead; and no test is served a
    page cached by another (whose rows were rolled back)."""
    uses_db = request.node.get_closest_marker("django_db") or {"db", "transactional_db"} & set(
        request.fixturenames
    )
    if uses_db:
        request.getfixturevalue("_django_db_helper")
        from django.db import connection

        if connection.vendor == "postgresql" and connection.in_atomic_block:
            with connection.cursor() as cursor:
                cursor.execute("SET CONSTRAINTS papers_contentchange_commit IMMEDIATE")
    yield
    if uses_db:
        from django.core.cache import caches

        from broadsheet.front import card_cache, page_cache

        caches["pages"].clear()
        page_cache.version.forget()
        card_cache.forget()


@pytest.fixture(autouse=True)
def _search_follows_each_search(request, monkeypatch):
    """PostgreSQL with the embedded search engine (the default there): a node's indexes are
    kept by its follower process (`broadsheet search-follow`), which in-process tests do not
    run. Here the follower takes one step (building the indexes on the first) before each
    search, on the searching thread's connection, so a search sees what the test wrote before
    it, as a live node does within the follower's delay (tests/search/test_node_follower.py
    and tests/ops/test_scale_out.py test that delay with real followers)."""
    from django.conf import settings

    if not reaches_database(request.node) or "target" in request.fixturenames:
        yield
        return
    request.getfixturevalue("_django_db_helper")
    from django.db import connection

    if connection.vendor != "postgresql":
        yield
        return
    import shutil
    import threading

    from broadsheet.search.backends.embedded import node_state
    from broadsheet.search.backends.postgresql import follower

    shutil.rmtree(node_state.node_dir(), ignore_errors=True)  # no index of another test's rows
    monkeypatch.setattr(follower, "VECTOR_APPLY_SECONDS", 0.0)  # vectors at each step too
    lock = threading.RLock()
    node = follower.Follower()
    read = node_state.read
    stepping = threading.local()

    def stepped_read() -> dict:
        # Every use of the node's indexes starts by reading its state: step first, unless
        # this is the step's own read, or a test driving node folders of its own.
        if (
            settings.SEARCH_ENGINE == "embedded"
            and node_state._override.get() is None
            and not getattr(stepping, "on", False)
        ):
            with lock:
                stepping.on = True
                queries = connection.queries_log
                logged = len(queries)
                try:
                    node.step()
                finally:
                    stepping.on = False
                    while len(queries) > logged:  # a follower's, not the page's (query counts)
                        queries.pop()
        return read()

    monkeypatch.setattr(node_state, "read", stepped_read)
    yield
    if connection.connection is not None:  # not models: the flush leaves them
        with connection.cursor() as cursor:
            cursor.execute(
                "DELETE FROM search_outbox; DELETE FROM search_node; "
                "DELETE FROM search_outbox_floor"
            )


@pytest.fixture
def db_vendor(db) -> str:
    """The database engine under test: "sqlite" or "postgresql"."""
    from django.db import connection

    return connection.vendor


@pytest.fixture
def member(db):
    from factories import PASSWORD, make_user

    return make_user("ada", email="ada@example.org", password=PASSWORD)


@pytest.fixture
def client_member(client, member):
    """A test client logged in as `member`."""
    client.force_login(member)
    return client


@pytest.fixture
def moderator(db):
    """Staff in the Moderators group (created by a migration): what makes a moderator."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    user = get_user_model().objects.create_user("mod", "mod@example.org", None, is_staff=True)
    user.groups.add(Group.objects.get(name="Moderators"))
    return user


# Email -------------------------------------------------------------------------------------


@dataclass
class ReceivedMail:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage
    raw: bytes


@dataclass
class SMTPServer:
    host: str
    port: int
    messages: list[ReceivedMail] = field(default_factory=list)

    def wait_for(self, count: int = 1, timeout: float = 5.0) -> list[ReceivedMail]:
        """Wait until at least `count` messages arrived (for mail sent from another process)."""
        deadline = time.monotonic() + timeout
        while len(self.messages) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(self.messages) >= count, f"{len(self.messages)} of {count} messages arrived"
        return self.messages


class _Collector:
    def __init__(self, server: SMTPServer) -> None:
        self.server = server

    async def handle_DATA(self, server, session, envelope) -> str:
        raw = envelope.original_content or envelope.content
        if isinstance(raw, str):
            raw = raw.encode()
        message = email.message_from_bytes(raw, policy=email.policy.default)
        self.server.messages.append(
            ReceivedMail(envelope.mail_from, list(envelope.rcpt_tos), message, raw)
        )
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp_server():
    """A real SMTP server on 127.0.0.1 that keeps what it receives.

    pytest-django forces the locmem backend; point Django at this server with
    `settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"`,
    `settings.EMAIL_HOST = smtp_server.host`, `settings.EMAIL_PORT = smtp_server.port`.
    """
    from aiosmtpd.controller import Controller

    server = SMTPServer(host="127.0.0.1", port=free_port())
    controller = Controller(
        _Collector(server), hostname=server.host, port=server.port, ready_timeout=10
    )
    controller.start()
    try:
        yield server
    finally:
        controller.stop()


# Browser -----------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser():
    """Headless Chromium (Debian's /usr/bin/chromium) driven by Playwright."""
    if not CHROMIUM.exists():
        missing(f"{CHROMIUM} is not installed (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing("playwright is not installed (pip install -e '.[test]')")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(browser):
    """A fresh browser context and page per test (no cookies carried over)."""
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(10_000)
    try:
        yield page
    finally:
        context.close()
