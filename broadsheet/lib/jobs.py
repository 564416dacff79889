"""Run a named job at most once at a time, across processes and machines.

The claim is a conditional UPDATE on the job's row: of two workers racing, exactly one sees
a row count of 1. A claim older than `stale_after` is taken over (its worker died).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
from collections.abc import Callable

from django.db.models import Q
from django.utils import timezone

from broadsheet.lib.models import Heartbeat, JobRun

log = logging.getLogger("broadsheet.jobs")


class AlreadyRunning(Exception):
    pass


def claim(name: str, stale_after: dt.timedelta = dt.timedelta(hours=6)) -> bool:
    now = timezone.now()
    JobRun.objects.get_or_create(name=name)
    free = Q(running_since__isnull=True) | Q(running_since__lt=now - stale_after)
    return JobRun.objects.filter(free, name=name).update(running_since=now, last_started=now) == 1


def release(name: str, ok: bool, result: str) -> None:
    JobRun.objects.filter(name=name).update(
        running_since=None, last_finished=timezone.now(), last_ok=ok, last_result=result[:2000]
    )


def run_exclusive(name: str, job: Callable[[], object]) -> object:
    """Run `job` unless another process is running the job of that name."""
    if not claim(name):
        log.info("job %s is already running elsewhere; not starting it again", name)
        raise AlreadyRunning(name)
    log.info("job %s started", name, extra={"job": name})
    started = timezone.now()
    try:
        result = job()
    except Exception as e:
        release(name, False, f"{type(e).__name__}: {e}")
        seconds = (timezone.now() - started).total_seconds()
        log.exception(
            "job %s failed", name, extra={"job": name, "ok": False, "seconds": round(seconds, 3)}
        )
        raise
    seconds = (timezone.now() - started).total_seconds()
    release(name, True, str(result))
    # Counts as fields too (JSON logs), when the job returns a dataclass of numbers.
    fields = getattr(result, "__dict__", {})
    counts = {k: v for k, v in fields.items() if isinstance(v, int) and not isinstance(v, bool)}
    log.info(
        "job %s finished in %.1f s: %s",
        name,
        seconds,
        result,
        extra={"job": name, "ok": True, "seconds": round(seconds, 3), "counts": counts},
    )
    return result


# Heartbeats ----------------------------------------------------------------------------------

BEAT_SECONDS = 30


def process_name(role: str) -> str:
    return f"{role}@{socket.gethostname()}:{os.getpid()}"


def beat(name: str, started_at: dt.datetime) -> None:
    """Record that the process `name` is alive now."""
    now = timezone.now()
    Heartbeat.objects.update_or_create(
        name=name, defaults={"beat_at": now, "started_at": started_at}
    )
    # Processes that stopped long ago (each run has its own name) leave the status page.
    Heartbeat.objects.filter(beat_at__lt=now - dt.timedelta(days=7)).delete()


def latest_beat(role: str) -> Heartbeat | None:
    """The freshest heartbeat of any process of that role (e.g. any worker)."""
    return Heartbeat.objects.filter(name__startswith=f"{role}@").order_by("-beat_at").first()
