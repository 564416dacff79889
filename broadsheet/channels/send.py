"""Sending channel messages exactly once: `send_channels()` is what `broadsheet send-channels`
(and the worker, every few minutes) runs. It works as the digest sender does
(broadsheet/digests/send.py):

1. Each active channel whose `send_at` has passed today and that has no run for today gets
   one: its papers are chosen and stored on it (compose.py). The unique (channel, period)
   constraint makes a second sender's run stand (get_or_create), so running twice adds nothing.
2. Each due run is claimed by a conditional UPDATE (pending and due, or claimed longer than
   BROADSHEET_CHANNEL_CLAIM_TIMEOUT ago by a sender that died); of two senders, one gets it.
3. The message goes out on one of BROADSHEET_CHANNEL_PARALLEL threads, each send limited to
   BROADSHEET_CHANNEL_TIMEOUT seconds to connect and as many to be answered, so a slow or dead
   destination holds one thread for that long and the others go on. Only this thread writes
   to the database: a run is marked sent once its destination accepted the message.

A temporary failure is retried with exponential backoff (BROADSHEET_CHANNEL_RETRY_SECONDS,
doubled each time, up to BROADSHEET_CHANNEL_MAX_ATTEMPTS tries). A permanent one (deliver.py)
fails the run and counts against the channel, which is switched off after
BROADSHEET_CHANNEL_FAILURE_LIMIT of them in a row, with the reason shown to its owner.

A sender killed mid-run leaves its claimed runs claimed; the next run takes them over once the
claim is stale. The gap no webhook protocol closes: a message the destination accepted in the
instant before the kill, not yet marked sent, is sent again (at most one per thread).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import uuid
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass

from django.conf import settings
from django.db.models import F, Q
from django.utils import timezone

from broadsheet.channels import vault
from broadsheet.channels.compose import choose, message, test_message
from broadsheet.channels.deliver import Outcome, deliver
from broadsheet.channels.models import Channel, ChannelRun
from broadsheet.digests.compose import Composer
from broadsheet.digests.periods import DAILY, Period, parse_period

log = logging.getLogger("broadsheet.channels")
CLAIM_CHUNK = 25  # runs claimed in one UPDATE


@dataclass
class Counts:
    made: int = 0
    sent: int = 0
    empty: int = 0
    retry: int = 0
    failed: int = 0
    skipped: int = 0  # claimed by another sender first

    def __str__(self) -> str:
        return (
            f"{self.sent} sent, {self.empty} empty, {self.retry} to retry, {self.failed} failed, "
            f"{self.skipped} taken by another sender"
        )


def today(now: dt.datetime) -> Period:
    return Period(DAILY, timezone.localtime(now).date())


def due_channels(now: dt.datetime):
    """Active channels whose time has come today and that have no run for today yet."""
    local = timezone.localtime(now)
    return (
        Channel.objects.filter(enabled=True, disabled_reason="", send_at__lte=local.time())
        .filter(Q(owner__isnull=True) | Q(owner__is_active=True))
        .exclude(runs__period=today(now).key)
    )


def create_runs(
    now: dt.datetime, composer: Composer, channel_id: int | None = None
) -> tuple[int, int]:
    """One run per due channel for today, its papers chosen now (an empty one is recorded as
    such, so it is not looked at again today): (runs made, of which empty)."""
    period = today(now)
    channels = due_channels(now).select_related("owner", "saved_search").order_by("id")
    if channel_id is not None:
        channels = channels.filter(id=channel_id)
    made = empty = 0
    for channel in channels:
        try:
            papers = choose(channel, period, composer)
        except Exception:  # this channel's choice only: it is tried again on the next run
            log.exception("channel %s: choosing its papers failed", channel.pk)
            continue
        status = ChannelRun.Status.PENDING if papers else ChannelRun.Status.EMPTY
        # Another sender may have made it a moment ago: then its run (and papers) stand.
        _, created = ChannelRun.objects.get_or_create(
            channel=channel,
            period=period.key,
            defaults={"paper_ids": papers, "cutoff": now, "status": status},
        )
        made += created
        empty += created and not papers
    return made, empty


def _claimable(now: dt.datetime) -> Q:
    stale = now - dt.timedelta(seconds=settings.CHANNEL_CLAIM_TIMEOUT)
    return Q(status=ChannelRun.Status.PENDING, next_attempt_at__lte=now) | Q(
        status=ChannelRun.Status.SENDING, claimed_at__lt=stale
    )


class Sender:
    def __init__(self, counts: Counts) -> None:
        self.counts = counts
        self.me = f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"

    def claim(self, run_ids: list[int]) -> list[ChannelRun]:
        """Claim the claimable runs among `run_ids` in one UPDATE; returns those we got."""
        now = timezone.now()
        got = ChannelRun.objects.filter(_claimable(now), id__in=run_ids).update(
            status=ChannelRun.Status.SENDING,
            claimed_at=now,
            claimed_by=self.me,
            attempts=F("attempts") + 1,
        )
        self.counts.skipped += len(run_ids) - got
        mine = ChannelRun.objects.filter(
            id__in=run_ids, status=ChannelRun.Status.SENDING, claimed_by=self.me, claimed_at=now
        )
        return list(mine.select_related("channel", "channel__saved_search").order_by("id"))

    def release(self) -> None:
        """Give back claimed runs this sender did not get to (it stopped early)."""
        ChannelRun.objects.filter(claimed_by=self.me, status=ChannelRun.Status.SENDING).update(
            status=ChannelRun.Status.PENDING, claimed_by="", attempts=F("attempts") - 1
        )

    def finish(self, run: ChannelRun, status: str, **fields) -> None:
        ChannelRun.objects.filter(id=run.id, claimed_by=self.me).update(status=status, **fields)

    def prepare(self, run: ChannelRun) -> tuple[str, str, str] | None:
        """(url, title, body) of the run's message, or None when it cannot go (recorded)."""
        channel = run.channel
        if not channel.active:
            self.finish(run, ChannelRun.Status.FAILED, last_error="the channel is switched off")
            self.counts.failed += 1
            return None
        try:
            url = vault.reveal(channel.url_sealed)
        except vault.Unreadable as e:
            self.record(run, Outcome(False, permanent=True, reason=str(e)), limit=1)
            return None
        title, body = message(channel, parse_period(run.period), run.paper_ids)
        return url, title, body

    def record(self, run: ChannelRun, outcome: Outcome, limit: int | None = None) -> None:
        """What became of a send: sent, failed for good, or to be retried later."""
        now = timezone.now()
        channel = Channel.objects.filter(id=run.channel_id)
        if outcome.ok:
            self.finish(run, ChannelRun.Status.SENT, sent_at=now, last_error="")
            channel.update(failures=0, last_sent_at=now)
            self.counts.sent += 1
            return
        reason = outcome.reason[:300]
        log.warning("channel %s, %s: %s (try %d)", run.channel_id, run.period, reason, run.attempts)
        if outcome.permanent:
            self.finish(run, ChannelRun.Status.FAILED, last_error=reason)
            channel.update(failures=F("failures") + 1)
            limit = limit or settings.CHANNEL_FAILURE_LIMIT
            why = reason if limit == 1 else f"{limit} failed sends in a row, the last: {reason}"
            switched_off = channel.filter(failures__gte=limit, disabled_reason="").update(
                disabled_reason=why[:300]
            )
            if switched_off:
                log.warning("channel %s switched off: %s", run.channel_id, reason)
            self.counts.failed += 1
        elif run.attempts >= settings.CHANNEL_MAX_ATTEMPTS:
            self.finish(run, ChannelRun.Status.FAILED, last_error=reason)
            self.counts.failed += 1
        else:
            delay = settings.CHANNEL_RETRY_SECONDS * 2 ** (run.attempts - 1)
            self.finish(
                run,
                ChannelRun.Status.PENDING,
                last_error=reason,
                next_attempt_at=now + dt.timedelta(seconds=delay),
            )
            self.counts.retry += 1


def send_channels(now: dt.datetime | None = None, *, channel_id: int | None = None) -> Counts:
    """Make today's runs of the due channels and send every claimable run (retries too)."""
    now = now or timezone.now()
    counts = Counts()
    counts.made, counts.empty = create_runs(now, Composer(now), channel_id)
    runs = ChannelRun.objects.filter(_claimable(timezone.now()))
    if channel_id is not None:
        runs = runs.filter(channel_id=channel_id)
    ids = list(runs.order_by("id").values_list("id", flat=True))
    sender = Sender(counts)
    parallel = settings.CHANNEL_PARALLEL
    flying: dict[Future, ChannelRun] = {}

    def settle(block: bool) -> None:
        if not flying:
            return
        done, _ = wait(list(flying), timeout=None if block else 0, return_when=FIRST_COMPLETED)
        for future in done:
            sender.record(flying.pop(future), future.result())

    pool = ThreadPoolExecutor(max_workers=parallel, thread_name_prefix="channel")
    try:
        for start in range(0, len(ids), CLAIM_CHUNK):
            for run in sender.claim(ids[start : start + CLAIM_CHUNK]):
                job = sender.prepare(run)
                if job is None:
                    continue
                # No more in flight than threads: a message is marked sent as soon as it is
                # accepted, not after others queued behind it.
                while len(flying) >= parallel:
                    settle(block=True)
                flying[pool.submit(deliver, *job, settings.CHANNEL_TIMEOUT)] = run
                settle(block=False)
        while flying:
            settle(block=True)
    finally:
        pool.shutdown(wait=True)
        while flying:  # stopped by an error: record what the threads finished
            settle(block=True)
        sender.release()
    log.info("send-channels: %s", counts)
    return counts


# Test messages ------------------------------------------------------------------------------


def tests_waiting() -> bool:
    """Whether a member asked for a test message (one indexed query, for the worker)."""
    return Channel.objects.filter(test_due=True).exists()


def send_tests(limit: int = 50) -> int:
    """Send the test messages web requests asked for; the result goes on the channel."""
    due = list(Channel.objects.filter(test_due=True).order_by("id")[:limit])
    # Claimed first, so two workers never send the same test.
    mine = [c for c in due if Channel.objects.filter(id=c.id, test_due=True).update(test_due=False)]
    results: dict[int, str] = {}
    jobs = {}
    with ThreadPoolExecutor(max_workers=settings.CHANNEL_PARALLEL) as pool:
        for channel in mine:
            try:
                url = vault.reveal(channel.url_sealed)
            except vault.Unreadable as e:
                results[channel.id] = f"Not sent: {e}"
                continue
            title, body = test_message(channel)
            jobs[channel.id] = pool.submit(deliver, url, title, body, settings.CHANNEL_TIMEOUT)
    for channel_id, future in jobs.items():
        outcome = future.result()
        results[channel_id] = "Delivered." if outcome.ok else f"Not delivered: {outcome.reason}"
    for channel_id, text in results.items():
        Channel.objects.filter(id=channel_id).update(
            test_result=text[:300], test_done_at=timezone.now()
        )
    return sum(1 for text in results.values() if text == "Delivered.")
