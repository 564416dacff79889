"""Exactly once, from outside: real `broadsheet send-digests` processes against a real SMTP
server, two at once, and one killed with SIGKILL in the middle of a delivery and run again.

Each process gets a database of its own (see tests/ingest/test_kill_and_resume.py), so what
it commits is really committed and the test reads it as an operator would.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections import Counter

from aiosmtpd.controller import Controller
from conftest import SMTPServer, _Collector, free_port

from broadsheet.digests.send import CLAIM_CHUNK
from tests.ingest.test_kill_and_resume import (  # noqa: F401
    BROADSHEET,
    Target,
    migrated_site,
    run,
    target,
)

SUBSCRIBERS = 100
PERIOD = "2026-11-25"  # a Wednesday: the default weekdays include it
KILL_AT = 20  # the sender dies while the server holds this message, before accepting it

SEED = f"""
import datetime as dt
from django.utils import timezone
from broadsheet.digests.models import Subscription
from broadsheet.papers.models import Listing, Paper
now = timezone.now()
for i in range(3):
    paper = Paper.objects.create(title=f"Paper {{i}}", slug=f"paper-{{i}}", source_upvotes=10 - i)
    Listing.objects.create(paper=paper, day=now.date(), submitted_at=now - dt.timedelta(hours=1),
                           source=Listing.Source.IMPORT)
Subscription.objects.bulk_create(
    Subscription(email=f"r{{i:03d}}@example.org", confirmed_at=now) for i in range({SUBSCRIBERS})
)
"""


class _Slow(_Collector):
    """Takes a little time per message, so two senders really interleave."""

    async def handle_DATA(self, server, session, envelope) -> str:
        import asyncio

        await asyncio.sleep(0.02)
        return await super().handle_DATA(server, session, envelope)


class _Killing(_Collector):
    def __init__(self, server: SMTPServer) -> None:
        super().__init__(server)
        self.pid: int | None = None
        self.seen = 0

    async def handle_DATA(self, server, session, envelope) -> str:
        self.seen += 1
        if self.pid is not None and self.seen == KILL_AT:
            os.kill(self.pid, signal.SIGKILL)
            self.pid = None
            return "451 4.3.0 Try again later"  # never accepted: the sender is gone anyway
        return await super().handle_DATA(server, session, envelope)


def _server(handler_class):
    server = SMTPServer(host="127.0.0.1", port=free_port())
    handler = handler_class(server)
    controller = Controller(handler, hostname=server.host, port=server.port)
    controller.start()
    return server, handler, controller


def _prepare(site: Target, port: int, **env: str) -> dict[str, str]:
    site.env.update(BROADSHEET_EMAIL_URL=f"smtp://127.0.0.1:{port}", **env)
    seeded = run(site, "shell", "-c", SEED)
    assert seeded.returncode == 0, seeded.stderr
    return site.env


def _sender(env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        [*BROADSHEET, "send-digests", "--period", PERIOD],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def _assert_each_once(server: SMTPServer, site: Target) -> None:
    received = Counter(m.rcpt_tos[0] for m in server.messages)
    assert len(received) == SUBSCRIBERS
    assert set(received.values()) == {1}, [a for a, n in received.items() if n > 1]
    sent = site.query("SELECT count(*) FROM digests_digestrun WHERE status = 'sent'")
    assert sent == SUBSCRIBERS
    assert site.query("SELECT count(*) FROM digests_digestrun") == SUBSCRIBERS


def test_two_senders_at_once_deliver_every_digest_exactly_once(target):  # noqa: F811
    server, _, controller = _server(_Slow)
    try:
        env = _prepare(target, server.port)
        first, second = _sender(env), _sender(env)
        outs = [p.communicate(timeout=120) for p in (first, second)]
        assert first.returncode == 0 and second.returncode == 0, outs
        _assert_each_once(server, target)
        sent = [int(out.split(" sent,")[0].split()[-1]) for out, _ in outs]
        assert sum(sent) == SUBSCRIBERS
        assert min(sent) > 0, f"one sender did all the work ({sent}): no real race was tested"
    finally:
        controller.stop()


def test_a_sender_killed_mid_delivery_is_finished_by_the_next_run(target):  # noqa: F811
    server, handler, controller = _server(_Killing)
    try:
        env = _prepare(target, server.port, BROADSHEET_DIGEST_CLAIM_TIMEOUT="1")
        first = _sender(env)
        handler.pid = first.pid
        first.communicate(timeout=120)
        assert first.returncode == -signal.SIGKILL
        assert len(server.messages) == KILL_AT - 1
        sent = target.query("SELECT count(*) FROM digests_digestrun WHERE status = 'sent'")
        assert sent == KILL_AT - 1
        # The message being sent when it died, and the rest of its claimed chunk, are still
        # claimed by the dead sender.
        claimed = target.query("SELECT count(*) FROM digests_digestrun WHERE status = 'sending'")
        assert 1 <= claimed <= CLAIM_CHUNK

        time.sleep(1.2)  # the dead sender's claim goes stale (CLAIM_TIMEOUT=1 here)
        again = _sender(env)
        out, err = again.communicate(timeout=120)
        assert again.returncode == 0, err
        assert f"{SUBSCRIBERS - KILL_AT + 1} sent" in out
        _assert_each_once(server, target)
    finally:
        controller.stop()
