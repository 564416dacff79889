"""Sending digests exactly once: `send_digests()` is what `broadsheet send-digests` runs.

1. For each due period, one DigestRun per receiving subscriber is inserted, ignoring
   conflicts with the unique (subscription, period) constraint: running twice adds nothing.
2. Each due run is claimed by a conditional UPDATE (pending and due, or a claim older than
   BROADSHEET_DIGEST_CLAIM_TIMEOUT whose sender died); of two senders exactly one gets it.
3. The digest is composed and rendered here and handed to the postman thread (one SMTP
   connection, reused), which marks its row sent, on a connection of its own, as soon as the
   server accepted it and before it sends the next; this thread then records the rest (the
   counts, the papers shown).

A sender killed mid-run leaves the runs of its last claimed chunk claimed; the next run takes
them over once the claim is stale. The gap: killed after the server accepted a message and
before its row was marked sent (one UPDATE), that message is sent again. Inside a caller's
transaction (in-process tests) the postman's connection could not see the rows, so this thread
marks them, with the postman's report, before it renders the next digest.
Temporary SMTP failures retry with exponential backoff up to BROADSHEET_DIGEST_MAX_ATTEMPTS;
a permanent rejection (5xx) fails the run and counts a hard bounce against the address, which
is disabled after BROADSHEET_DIGEST_BOUNCE_LIMIT of them.

A failure that concerns one message (composing or rendering it raised, or its address cannot
be encoded) fails that run with the error in `last_error`, and the others go on. Only a
failure of sending as a whole (the server unreachable, the backend misconfigured) is
"systemic": it stops the run, leaves the rest for the next one, and makes the command fail.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import smtplib
import socket
import sys
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field

from django.conf import settings
from django.core.mail import get_connection
from django.db import connection
from django.db.models import F, Q
from django.utils import timezone

from broadsheet.digests.compose import Composer, last_sent
from broadsheet.digests.emails import Renderer, confirmation_email, manage_link_email
from broadsheet.digests.models import DigestRun, Subscription
from broadsheet.digests.periods import DAILY, Period, current_periods, parse_period
from broadsheet.digests.postman import SKIPPED, BackendUnavailable, Postman, letter
from broadsheet.lib.progress import progress_bar
from broadsheet.papers.models import Shown
from broadsheet.papers.shown import record_shown

log = logging.getLogger("broadsheet.digests")
BATCH = 500
# Runs claimed in one UPDATE. A sender killed mid-run leaves at most this many claimed (taken
# over after BROADSHEET_DIGEST_CLAIM_TIMEOUT); marking sent stays one row at a time, so a kill
# never makes a delivered digest look unsent, except in the instant described above.
CLAIM_CHUNK = 25


@dataclass
class Counts:
    sent: int = 0
    empty: int = 0
    retry: int = 0
    failed: int = 0
    skipped: int = 0  # claimed by another sender first
    would_send: int = 0  # --dry-run
    systemic: str = ""  # why sending as a whole failed, if it did
    timings: dict[str, float] = field(default_factory=lambda: defaultdict(float))

    def __str__(self) -> str:
        parts = [
            f"{self.sent} sent",
            f"{self.empty} empty",
            f"{self.retry} to retry",
            f"{self.failed} failed",
            f"{self.skipped} taken by another sender",
        ]
        if self.would_send:
            parts.insert(0, f"{self.would_send} would be sent")
        return ", ".join(parts)


class _Clock:
    def __init__(self, counts: Counts, part: str) -> None:
        self.counts, self.part = counts, part

    def __enter__(self):
        self.start = time.perf_counter()

    def __exit__(self, *exc):
        self.counts.timings[self.part] += time.perf_counter() - self.start


def due_subscriptions(period: Period):
    subs = Subscription.objects.filter(
        active=True, confirmed_at__isnull=False, disabled_reason="", frequency=period.kind
    )
    if period.kind == DAILY:
        subs = subs.filter(weekdays__contains=str(period.first_day.weekday()))
    return subs


def create_runs(period: Period, email: str | None = None, now: dt.datetime | None = None) -> int:
    """One pending run per due subscriber for `period`; existing ones are left alone."""
    subs = due_subscriptions(period)
    if email:
        subs = subs.filter(email__iexact=email)
    ids = list(subs.values_list("id", flat=True))
    before = DigestRun.objects.filter(period=period.key).count()
    for start in range(0, len(ids), 2000):
        DigestRun.objects.bulk_create(
            [
                DigestRun(
                    subscription_id=i, period=period.key, next_attempt_at=now or timezone.now()
                )
                for i in ids[start : start + 2000]
            ],
            ignore_conflicts=True,
        )
    return DigestRun.objects.filter(period=period.key).count() - before


def _claimable(now: dt.datetime) -> Q:
    stale = now - dt.timedelta(seconds=settings.DIGEST_CLAIM_TIMEOUT)
    return Q(status=DigestRun.Status.PENDING, next_attempt_at__lte=now) | Q(
        status=DigestRun.Status.SENDING, claimed_at__lt=stale
    )


class Sender:
    def __init__(self, counts: Counts) -> None:
        self.counts = counts
        self.me = f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        # Run id -> (member, papers) of digests handed to the postman: once sent, the New
        # view marks those papers seen (papers/shown.py).
        self.shown: dict[int, tuple[int, list[int]]] = {}

    # Claims ------------------------------------------------------------------------------

    def claim(self, run_ids: list[int]) -> set[int]:
        """Claim the claimable runs among `run_ids` in one UPDATE; returns those we got."""
        now = timezone.now()
        DigestRun.objects.filter(_claimable(now), id__in=run_ids).update(
            status=DigestRun.Status.SENDING,
            claimed_at=now,
            claimed_by=self.me,
            attempts=F("attempts") + 1,
        )
        mine = DigestRun.objects.filter(
            id__in=run_ids, status=DigestRun.Status.SENDING, claimed_by=self.me, claimed_at=now
        )
        return set(mine.values_list("id", flat=True))

    def release(self) -> None:
        """Give back claimed runs this sender did not get to (it stopped early)."""
        DigestRun.objects.filter(claimed_by=self.me, status=DigestRun.Status.SENDING).update(
            status=DigestRun.Status.PENDING, claimed_by="", attempts=F("attempts") - 1
        )

    def finish(self, run_id: int, status: str, **fields) -> None:
        DigestRun.objects.filter(id=run_id, claimed_by=self.me).update(status=status, **fields)

    def mark_sent(self, run_ids: list[int]) -> None:
        """The server accepted these runs' messages; those already marked are left."""
        DigestRun.objects.filter(
            id__in=run_ids, claimed_by=self.me, status=DigestRun.Status.SENDING
        ).update(status=DigestRun.Status.SENT, sent_at=timezone.now(), last_error="")

    def mark_accepted(self, run: DigestRun) -> None:
        """The postman's thread, as soon as the server accepted this run's message."""
        self.mark_sent([run.id])

    def settle(self, results) -> None:
        """Record what the postman reports: sent once the server accepted it, else failed."""
        accepted = [run.id for run, error in results if error is None]
        if accepted:  # one UPDATE for whatever arrived (and the postman did not mark) since
            self.mark_sent(accepted)
            self.counts.sent += len(accepted)
            for run_id in accepted:
                if run_id in self.shown:
                    user_id, paper_ids = self.shown.pop(run_id)
                    record_shown(user_id, paper_ids, via=Shown.Via.DIGEST)
        for run, error in results:
            if error is not None and error is not SKIPPED:  # SKIPPED: released at the end
                self.failed(run, error)

    def broken(self, run: DigestRun, error: Exception) -> None:
        """Record a message that cannot be sent at all (not a server's answer): failed."""
        text = f"{type(error).__name__}: {error}"[:500]
        self.finish(run.id, DigestRun.Status.FAILED, last_error=text)
        self.counts.failed += 1
        log.warning(
            "digest %s to subscription %s cannot be sent: %s", run.period, run.subscription_id, text
        )

    def failed(self, run: DigestRun, error: Exception) -> None:
        """Record a failed send: a permanent rejection, or a temporary failure to retry."""
        if not isinstance(error, smtplib.SMTPException | OSError | BackendUnavailable):
            self.broken(run, error)  # about this message: trying again changes nothing
            return
        code = _smtp_code(error)
        text = f"{type(error).__name__}: {error}"[:500]
        if code is not None and 500 <= code < 600:
            self.finish(run.id, DigestRun.Status.FAILED, last_error=text)
            Subscription.objects.filter(id=run.subscription_id).update(
                hard_bounces=F("hard_bounces") + 1
            )
            Subscription.objects.filter(
                id=run.subscription_id, hard_bounces__gte=settings.DIGEST_BOUNCE_LIMIT
            ).update(disabled_reason=f"rejected by the mail server: {text}"[:300])
            self.counts.failed += 1
            log.warning(
                "digest %s to subscription %s rejected: %s", run.period, run.subscription_id, text
            )
            return
        attempts = run.attempts + 1
        if attempts >= settings.DIGEST_MAX_ATTEMPTS:
            self.finish(run.id, DigestRun.Status.FAILED, last_error=text)
            self.counts.failed += 1
        else:
            delay = settings.DIGEST_RETRY_SECONDS * 2 ** (attempts - 1)
            self.finish(
                run.id,
                DigestRun.Status.PENDING,
                last_error=text,
                next_attempt_at=timezone.now() + dt.timedelta(seconds=delay),
            )
            self.counts.retry += 1
        log.warning(
            "digest %s to subscription %s: %s (attempt %d)",
            run.period,
            run.subscription_id,
            text,
            attempts,
        )


def _smtp_code(error: Exception) -> int | None:
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in error.recipients.values()]
        return codes[0] if codes else None
    if isinstance(error, smtplib.SMTPResponseException):
        return error.smtp_code
    if isinstance(error, smtplib.SMTPException) and not isinstance(
        error, smtplib.SMTPServerDisconnected
    ):
        return 450  # a protocol error this message met: temporary, retry later
    return None


def send_digests(
    periods: list[str] | None = None,
    *,
    dry_run: bool = False,
    email: str | None = None,
    now: dt.datetime | None = None,
    out=None,
) -> Counts:
    """Create the runs of the due periods and send every claimable run (retries included)."""
    now = now or timezone.now()
    chosen = [parse_period(p) for p in periods] if periods else current_periods(now)
    counts = Counts()
    composer = Composer(now)
    if dry_run:
        return _dry_run(chosen, composer, counts, email, out)
    for period in chosen:
        create_runs(period, email, now)
    # Claimable as of now, not as of the start: runs another sender made a moment ago count.
    runs = DigestRun.objects.filter(_claimable(timezone.now()))
    if email:
        runs = runs.filter(subscription__email__iexact=email)
    ids = list(runs.order_by("id").values_list("id", flat=True))
    sender = Sender(counts)
    renderer = Renderer()
    # Inside a transaction (the caller's) another connection cannot see the runs to mark them.
    postman = Postman(None if connection.in_atomic_block else sender.mark_accepted)
    postman.start()
    # The postman waits on the server several times per message and then needs the GIL back
    # from the rendering thread; at Python's default 5 ms switch interval each of those waits
    # costs up to 5 ms. Shorter slices keep the round trips short (restored afterwards).
    switch_interval = sys.getswitchinterval()
    sys.setswitchinterval(0.0005)
    bar = progress_bar("send-digests", total=len(ids), unit="emails")
    try:
        for start in range(0, len(ids), BATCH):
            _send_batch(ids[start : start + BATCH], composer, renderer, sender, postman, bar)
            if postman.unreachable.is_set():
                break  # the server is unreachable: the rest waits for the next run
    finally:
        postman.finish()
        with _Clock(counts, "mark sent"):
            sender.settle(postman.done())
        sender.release()
        sys.setswitchinterval(switch_interval)
        bar.close()
    counts.timings["smtp"] = postman.smtp_seconds
    if postman.unreachable.is_set():
        error = postman.unreachable_error
        counts.systemic = f"the mail server could not be reached: {type(error).__name__}: {error}"
        log.error("send-digests: %s", counts.systemic)
    log.info("send-digests: %s", counts)
    return counts


def _load(run_ids: list[int]):
    runs = list(
        DigestRun.objects.filter(id__in=run_ids)
        .select_related("subscription", "subscription__user")
        .prefetch_related("subscription__saved_searches")
        .order_by("id")
    )
    return runs, last_sent({r.subscription_id for r in runs})


def _send_batch(
    run_ids, composer: Composer, renderer: Renderer, sender: Sender, postman: Postman, bar
) -> None:
    """Compose and post a batch of runs, recording the postman's results as they come."""
    counts = sender.counts
    with _Clock(counts, "load"):
        runs, last = _load(run_ids)
    with _Clock(counts, "search"):
        composer.prepare_searches(
            (
                saved,
                composer.since(r.subscription, parse_period(r.period), last.get(r.subscription_id)),
            )
            for r in runs
            if r.subscription.include_saved_searches
            for saved in r.subscription.saved_searches.all()
        )
    claimed: set[int] = set()
    for i, run in enumerate(runs):
        bar.update(1)
        with _Clock(counts, "mark sent"):
            sender.settle(postman.done())
        if postman.unreachable.is_set():
            return
        sub = run.subscription
        if i % CLAIM_CHUNK == 0:
            with _Clock(counts, "claim"):
                claimed = sender.claim([r.id for r in runs[i : i + CLAIM_CHUNK]])
        if run.id not in claimed:
            counts.skipped += 1
            continue
        if not sub.receiving:  # unsubscribed since the run was made
            sender.finish(run.id, DigestRun.Status.FAILED, last_error="unsubscribed or disabled")
            continue
        try:
            with _Clock(counts, "compose"):
                digest = composer.compose(
                    sub, parse_period(run.period), last.get(sub.id), list(sub.saved_searches.all())
                )
                if digest.is_empty:
                    sender.finish(run.id, DigestRun.Status.EMPTY, sent_at=None)
                    counts.empty += 1
                    continue
                item = letter(run, renderer.email(digest))
                if sub.user_id is not None:
                    sender.shown[run.id] = (sub.user_id, digest.paper_ids)
        except Exception as e:  # this digest only: record it on its row, go on with the others
            sender.broken(run, e)
            continue
        with _Clock(counts, "waiting for the postman"):
            postman.post(item)


def _dry_run(periods: list[Period], composer: Composer, counts: Counts, email, out) -> Counts:
    """Compose what would be sent now, send nothing, write nothing."""
    for period in periods:
        subs = due_subscriptions(period).prefetch_related("saved_searches").select_related("user")
        if email:
            subs = subs.filter(email__iexact=email)
        subs = list(subs)
        last = last_sent(s.id for s in subs)
        already = set(
            DigestRun.objects.filter(period=period.key)
            .exclude(status=DigestRun.Status.PENDING)
            .values_list("subscription_id", flat=True)
        )
        for sub in subs:
            if sub.id in already:
                continue
            digest = composer.compose(sub, period, last.get(sub.id))
            if digest.is_empty:
                counts.empty += 1
                continue
            counts.would_send += 1
            if out is not None:
                out.write(f"{period.key} {sub.email}: {digest.count} papers\n")
    return counts


def _ready(sent_field: str, now: dt.datetime) -> Q:
    """At most one email of a kind per address per BROADSHEET_MAIL_COOLDOWN_MINUTES: one asked
    for again sooner stays due and goes out once that time has passed."""
    since = now - dt.timedelta(minutes=settings.MAIL_COOLDOWN_MINUTES)
    return Q(**{f"{sent_field}__isnull": True}) | Q(**{f"{sent_field}__lte": since})


# (flag the web request sets, when the last one went out, the email)
NOTICES = [
    ("confirmation_due", "confirmation_sent_at", confirmation_email),
    ("manage_link_due", "manage_link_sent_at", manage_link_email),
]


def confirmations_waiting() -> bool:
    """Whether an email that web requests asked for is ready to go (an indexed query per
    kind), so the worker can look often and start the job only when there is one."""
    now = timezone.now()
    return any(
        Subscription.objects.filter(
            _ready(sent_field, now), active=True, **{due_field: True}
        ).exists()
        for due_field, sent_field, _ in NOTICES
    )


def send_confirmations(problems: list[str] | None = None) -> int:
    """Send the emails web requests asked for (the web never sends mail): confirmations of
    new subscriptions, and manage links to confirmed addresses given to the public form.

    An address such an email cannot be built or sent for is disabled with the reason; a
    server that cannot be reached stops the round (the rest stay due) and is added to
    `problems`."""
    sent = 0
    connection = None
    try:
        for due_field, sent_field, build in NOTICES:
            ready = _ready(sent_field, timezone.now())
            due = list(
                Subscription.objects.filter(ready, active=True, **{due_field: True}).order_by("id")[
                    :500
                ]
            )
            for sub in due:
                # Claimed first, so two workers never send the same email.
                claimed = Subscription.objects.filter(ready, id=sub.id, **{due_field: True})
                if not claimed.update(**{due_field: False, sent_field: timezone.now()}):
                    continue
                connection = connection or get_connection(fail_silently=False)
                try:
                    build(sub, connection).send()
                    sent += 1
                except (smtplib.SMTPException, OSError) as e:
                    log.warning("%s to subscription %s failed; will retry", due_field, sub.id)
                    Subscription.objects.filter(id=sub.id).update(**{due_field: True})
                    if problems is not None:
                        problems.append(f"confirmations: {type(e).__name__}: {e}")
                    return sent
                except Exception as e:  # this address only
                    kind = due_field.removesuffix("_due").replace("_", " ")
                    reason = f"{kind} email cannot be sent: {type(e).__name__}: {e}"[:300]
                    log.warning("subscription %s: %s", sub.id, reason)
                    Subscription.objects.filter(id=sub.id).update(disabled_reason=reason)
    finally:
        if connection is not None:
            connection.close()
        if sent:
            log.info("send-confirmations: %d sent", sent)
    return sent
