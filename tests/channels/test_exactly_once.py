"""Exactly once, from outside: a real `broadsheet send-channels` process delivering to the local
webhook receiver, killed with SIGKILL in the middle of a delivery; another sender (the test
process) then takes over what it left.

The processes use the test database itself (`transactional_db`: what the test writes is
committed, and what they commit the test reads), which spares them a migration of their own.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
from collections import Counter

from django.db import connection
from django.utils import timezone
from factories import make_listing

from broadsheet.channels.models import ChannelRun
from broadsheet.channels.send import CLAIM_CHUNK, send_channels
from channels.conftest import make_channel

CHANNELS = 40
KILL_AT = 12  # the sender dies while the receiver holds this message, before answering it
SENT = ChannelRun.Status.SENT


def database_url() -> str:
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


def _sender(env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "broadsheet.cli", "send-channels"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def test_a_sender_killed_mid_delivery_is_finished_by_the_next_run(
    transactional_db, receiver, tmp_path, settings
):
    for votes in (3, 2, 1):
        make_listing(timezone.localdate(), votes=votes)
    for i in range(CHANNELS):
        make_channel(receiver.url(f"c{i:03d}"), name=f"c{i}", send_at=dt.time(0, 0), top_n=2)
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    env.update(
        BROADSHEET_DATA_DIR=str(tmp_path),
        BROADSHEET_DATABASE_URL=database_url(),
        BROADSHEET_TIME_ZONE="UTC",
        BROADSHEET_LOG_LEVEL="WARNING",
        # One at a time, so the kill lands between two messages: with more threads, one
        # accepted in the same instant would be sent again (the gap send.py describes).
        BROADSHEET_CHANNEL_PARALLEL="1",
    )

    first = _sender(env)
    receiver.kill_pid, receiver.kill_at = first.pid, KILL_AT
    _, err = first.communicate(timeout=120)
    assert first.returncode == -signal.SIGKILL, err
    assert len(receiver.messages) == KILL_AT - 1
    assert ChannelRun.objects.filter(status=SENT).count() == KILL_AT - 1
    # The message being sent when it died, and the rest of its claimed chunk, are still
    # claimed by the dead sender.
    claimed = ChannelRun.objects.filter(status=ChannelRun.Status.SENDING).count()
    assert 1 <= claimed <= CLAIM_CHUNK

    # The dead sender's claim goes stale, and another sender (this process) runs.
    stale = timezone.now() - dt.timedelta(seconds=settings.CHANNEL_CLAIM_TIMEOUT + 1)
    ChannelRun.objects.filter(status=ChannelRun.Status.SENDING).update(claimed_at=stale)
    counts = send_channels()
    assert (counts.made, counts.sent, counts.skipped) == (0, CHANNELS - KILL_AT + 1, 0)

    received = Counter(m.path for m in receiver.messages)
    assert len(received) == CHANNELS
    assert set(received.values()) == {1}, [p for p, n in received.items() if n > 1]
    assert ChannelRun.objects.count() == ChannelRun.objects.filter(status=SENT).count() == CHANNELS
