"""The core sections of the status page: jobs, worker heartbeats, search index, database."""

from __future__ import annotations

import os

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection
from django.utils import timezone
from django.utils.timesince import timesince

from broadsheet.lib import status
from broadsheet.lib.models import Heartbeat, JobRun
from broadsheet.papers.models import Listing, Paper, Upvote


def _ago(when) -> str:
    return f"{timesince(when, timezone.now())} ago" if when else "never"


def job_rows() -> status.Rows:
    for job in JobRun.objects.order_by("name"):
        if job.running_since:
            state = f"running since {_ago(job.running_since)}"
        elif job.last_ok is None:
            state = "never finished"
        else:
            state = "ok" if job.last_ok else "FAILED"
        took = ""
        if job.last_started and job.last_finished and job.last_finished >= job.last_started:
            took = f", took {(job.last_finished - job.last_started).total_seconds():.1f} s"
        yield job.name, f"{state}; last finished {_ago(job.last_finished)}{took}: {job.last_result}"


def worker_rows() -> status.Rows:
    beats = list(Heartbeat.objects.order_by("-beat_at")[:20])
    if not beats:
        yield "workers", "no worker has run (`broadsheet worker`)"
    stale = settings.WORKER_HEARTBEAT_MAX_AGE
    for hb in beats:
        age = (timezone.now() - hb.beat_at).total_seconds()
        flag = "alive" if age <= stale else "STALE"
        yield (
            hb.name,
            f"{flag}: last beat {_ago(hb.beat_at)}, up since {hb.started_at:%Y-%m-%d %H:%M}",
        )


def _mb(size: int) -> str:
    return f"{size / 1e6:.1f} MB"


def search_rows() -> status.Rows:
    from broadsheet.search.backends import get_backend
    from broadsheet.search.indexing import count_missing
    from broadsheet.search.models import SearchDocument

    yield "documents", SearchDocument.objects.count()
    yield "waiting to be embedded", count_missing()
    index = get_backend().status()
    yield from index.counts.items()
    for label, size in index.sizes.items():
        yield label, _mb(size)
    if index.generation is not None:
        yield "vector index generation", index.generation


def database_rows() -> status.Rows:
    yield "engine", connection.vendor
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_database_size(current_database())")
            yield "size", _mb(cursor.fetchone()[0])
    else:
        yield "size", _mb(os.path.getsize(connection.settings_dict["NAME"]))
    yield "papers", Paper.objects.count()
    yield "listings", Listing.objects.count()
    yield "upvotes", Upvote.objects.count()
    yield "members", get_user_model().objects.count()


status.register("Jobs", job_rows)
status.register("Workers", worker_rows)
status.register("Search index", search_rows)
status.register("Database", database_rows)
