"""Channel messages through Apprise to a local webhook receiver: chosen and sent once per day,
retried with backoff, failing channels switched off, secrets kept out of logs and errors."""

from __future__ import annotations

import datetime as dt
import logging

import pytest
from factories import make_listing

from broadsheet.channels.models import Channel, ChannelRun
from broadsheet.channels.send import Counts, Sender, send_channels, send_tests
from broadsheet.channels.send import tests_waiting as a_test_is_waiting
from broadsheet.digests.models import SavedSearch, Subscription
from channels.conftest import NOW, make_channel

pytestmark = pytest.mark.usefixtures("clock")


def run_of(channel: Channel) -> ChannelRun:
    return ChannelRun.objects.get(channel=channel)


def test_the_days_top_papers_go_out_once_at_the_channels_time(receiver, listed, owner):
    early = make_channel(receiver.url("lab/early"), owner, send_at=dt.time(7, 30))
    later = make_channel(receiver.url("lab/later"), owner, send_at=dt.time(18, 0))

    counts = send_channels()

    assert (counts.made, counts.sent) == (1, 1)
    [got] = receiver.messages
    assert got.path == "/lab/early"
    assert got.title == "Broadsheet: top papers, Saturday 5 December 2026"
    lines = got.message.splitlines()
    assert [line.split("](")[0] for line in lines] == [
        "1. [Paper with 40 votes",
        "2. [Paper with 30 votes",
        "3. [Paper with 20 votes",
    ]
    assert lines[0].endswith(f"(https://papers.example.org{listed[0].get_absolute_url()})")
    run = run_of(early)
    assert run.status == "sent" and run.paper_ids == [p.pk for p in listed[:3]]
    assert not ChannelRun.objects.filter(channel=later).exists()  # not its time yet
    early.refresh_from_db()
    assert early.last_sent_at is not None

    again = send_channels()  # the same day: nothing new is made, nothing is sent again
    assert (again.made, again.sent) == (0, 0)
    assert len(receiver.messages) == 1


def test_the_next_day_leaves_out_papers_already_sent(receiver, listed, owner, clock):
    channel = make_channel(receiver.url("lab/top"), owner, top_n=3)
    send_channels()
    clock.move_to(NOW + dt.timedelta(days=1))  # a Sunday: no new listings
    counts = send_channels()
    assert counts.made == 1 and counts.sent == 1
    second = receiver.to("lab/top")[1]
    assert second.message.startswith("1. [Paper with 10 votes")  # the one not sent yesterday
    assert "Paper with 40 votes" not in second.message
    assert ChannelRun.objects.filter(channel=channel).count() == 2


def test_a_saved_searchs_new_hits_are_sent_once(receiver, owner, clock):
    from broadsheet.search.indexing import index_papers

    sub = Subscription.objects.create(email=owner.email, user=owner, confirmed_at=NOW)
    saved = SavedSearch.objects.create(subscription=sub, query="sparse autoencoders")
    at = NOW - dt.timedelta(hours=2)
    hits = [
        make_listing(
            NOW.date(), f"Sparse autoencoders, part {i}", submitted_at=at, published_at=at
        ).paper
        for i in (1, 2)
    ]
    other = make_listing(
        NOW.date(), "Protein folding at scale", submitted_at=at, published_at=at
    ).paper
    index_papers([p.pk for p in [*hits, other]])
    channel = make_channel(
        receiver.url("lab/search"), owner, content="search", saved_search=saved, top_n=5
    )

    send_channels()

    [got] = receiver.messages
    assert got.title == "Broadsheet: new papers for “sparse autoencoders”"
    assert sorted(run_of(channel).paper_ids) == sorted(p.pk for p in hits)
    assert "Protein folding" not in got.message

    clock.move_to(NOW + dt.timedelta(days=1))
    newer = make_listing(
        NOW.date(), "Sparse autoencoders, part 3", published_at=NOW + dt.timedelta(days=1)
    ).paper
    index_papers([newer.pk])
    send_channels()
    assert ChannelRun.objects.get(channel=channel, period="2026-12-06").paper_ids == [newer.pk]
    assert "part 3" in receiver.messages[1].message
    assert "part 1" not in receiver.messages[1].message


class SiteLog(logging.Handler):
    """What the site's own log handler (on the root logger, see ops/logs.py) writes."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(f"{record.name} {record.getMessage()}")


@pytest.fixture
def site_log():
    root, handler = logging.getLogger(), SiteLog()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)  # BROADSHEET_LOG_LEVEL=DEBUG: the most a site logs
    yield handler
    root.removeHandler(handler)
    root.setLevel(level)


def test_failures_retry_with_backoff_and_never_hold_up_the_others(
    receiver, listed, owner, site_log
):
    ok = make_channel(receiver.url("lab/ok"), owner)
    busy = make_channel(receiver.url("busy/SECRET-TOKEN-1"), owner)
    slow = make_channel(receiver.url("slow/SECRET-TOKEN-2"), owner)
    gone = make_channel(receiver.url("gone/SECRET-TOKEN-3"), owner)

    counts = send_channels()

    assert (counts.sent, counts.retry, counts.failed) == (1, 2, 1)
    assert [m.path for m in receiver.messages] == ["/lab/ok"]
    assert run_of(ok).status == "sent"
    for channel in (busy, slow):  # temporary: tried again in RETRY_SECONDS, then twice that
        run = run_of(channel)
        assert run.status == "pending" and run.attempts == 1
        assert run.next_attempt_at >= NOW + dt.timedelta(seconds=60)
    assert run_of(busy).last_error == "JSON answered HTTP 503"
    assert run_of(slow).last_error == "JSON: no connection or no answer within 0.5 s"
    gone_run = run_of(gone)
    assert (gone_run.status, gone_run.last_error) == ("failed", "JSON answered HTTP 404")
    gone.refresh_from_db()
    assert gone.failures == 1 and gone.disabled_reason == ""  # the limit is 2 here

    # Not due yet: nothing is tried. Once due, the second try waits twice as long.
    assert send_channels().retry == 0
    ChannelRun.objects.filter(channel=busy).update(next_attempt_at=NOW)
    send_channels()
    run = run_of(busy)
    assert run.attempts == 2 and run.next_attempt_at >= run.claimed_at + dt.timedelta(seconds=120)
    ChannelRun.objects.filter(channel=busy).update(next_attempt_at=NOW)
    send_channels()
    assert run_of(busy).status == "failed"  # MAX_ATTEMPTS is 3 here
    busy.refresh_from_db()
    assert busy.failures == 0 and busy.disabled_reason == ""  # temporary ones do not count

    # The URLs' secrets are in no log line and no stored error.
    logged = "\n".join(site_log.lines)
    assert "SECRET-TOKEN" not in logged
    assert "JSON answered HTTP 404" in logged  # the failures were logged, in our words
    assert not ChannelRun.objects.filter(last_error__contains="SECRET").exists()


def test_permanent_failures_switch_a_channel_off_with_the_reason(receiver, listed, owner, clock):
    from django.test import Client

    gone = make_channel(receiver.url("gone/abc"), owner)
    send_channels()
    clock.move_to(NOW + dt.timedelta(days=1))
    send_channels()
    gone.refresh_from_db()
    assert gone.failures == 2
    assert gone.disabled_reason == "2 failed sends in a row, the last: JSON answered HTTP 404"
    clock.move_to(NOW + dt.timedelta(days=2))
    assert send_channels().made == 0  # switched off: no more runs

    client = Client()
    client.force_login(owner)
    page = client.get("/settings/channels").content.decode()
    assert "Switched off: 2 failed sends in a row, the last: JSON answered HTTP 404" in page


def test_of_two_senders_one_claims_each_run(receiver, listed, owner):
    channel = make_channel(receiver.url("lab/x"), owner)
    from broadsheet.channels.send import create_runs
    from broadsheet.digests.compose import Composer

    create_runs(NOW, Composer(NOW))
    run = run_of(channel)
    first, second = Sender(Counts()), Sender(Counts())
    assert [r.id for r in first.claim([run.id])] == [run.id]
    assert second.claim([run.id]) == [] and second.counts.skipped == 1
    first.release()  # a sender stopped early gives its claims back
    assert run_of(channel).status == "pending" and run_of(channel).attempts == 0


def test_a_test_message_is_queued_by_the_page_and_sent_by_the_worker(receiver, owner):
    from django.test import Client

    channel = make_channel(receiver.url("lab/test"), owner, name="Reading group")
    broken = make_channel(receiver.url("gone/x"), owner)
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    assert client.get(f"/settings/channels/{channel.pk}/test").status_code == 405
    assert client.post(f"/settings/channels/{channel.pk}/test").status_code == 403  # no CSRF
    client = Client()
    client.force_login(owner)
    for c in (channel, broken):
        assert client.post(f"/settings/channels/{c.pk}/test").status_code == 302
    assert receiver.messages == []  # the web request sent nothing
    assert a_test_is_waiting()  # what starts the worker's channel-tests job

    assert send_tests() == 1
    assert not a_test_is_waiting()
    [got] = receiver.messages
    assert got.title == "Broadsheet: test message"
    assert "“Reading group”" in got.message
    channel.refresh_from_db()
    broken.refresh_from_db()
    assert (channel.test_due, channel.test_result) == (False, "Delivered.")
    assert broken.test_result == "Not delivered: JSON answered HTTP 404"
    assert broken.failures == 0  # a test does not count against the channel
    assert send_tests() == 0


def test_the_command_sends_what_is_due_and_names_a_wrong_channel(receiver, listed, owner):
    from io import StringIO

    from django.core.management import CommandError, call_command

    channel = make_channel(receiver.url("lab/cli"), owner)
    with pytest.raises(CommandError, match="--channel 999999: no such channel"):
        call_command("send-channels", "--channel", "999999")
    out = StringIO()
    call_command("send-channels", "--channel", str(channel.pk), stdout=out)
    assert out.getvalue().startswith("1 sent, 0 empty, 0 to retry, 0 failed")
    assert [m.path for m in receiver.messages] == ["/lab/cli"]
