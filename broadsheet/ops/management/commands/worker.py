"""`broadsheet worker`: runs the scheduled jobs (ingest, embed, digests); beats a heartbeat."""

from __future__ import annotations

import logging
import signal
import sys

from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from broadsheet.lib.jobs import BEAT_SECONDS, AlreadyRunning, beat, process_name, run_exclusive
from broadsheet.ops.schedule import digest_jobs, only_when, scheduled_jobs, upkeep_jobs
from broadsheet.ops.supervise import JobWorker, worker_command
from broadsheet.search.backends import follows_changes

log = logging.getLogger("broadsheet.jobs")


def _guarded(name, job, when=None):
    def run():
        if when is not None and not when():
            return
        try:
            run_exclusive(name, job)
        except AlreadyRunning:
            pass
        except Exception:  # logged by run_exclusive; the worker goes on with the next run
            pass

    return run


class Command(BaseCommand):
    help = (
        "Run scheduled jobs: ingest the site's arXiv categories "
        "(BROADSHEET_INGEST_ARXIV_CATEGORIES) and Hugging Face daily papers "
        "(BROADSHEET_INGEST_HF_DAILY) every day at BROADSHEET_INGEST_AT; send emails; keep "
        "new papers' vectors and keywords, listed papers' thumbnails and GitHub stars up to "
        "date. A job already running elsewhere is not started twice."
    )

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="run every job once now, then exit")
        parser.add_argument(
            "--no-search-follower",
            action="store_true",
            help="PostgreSQL (search engine `embedded`, the default): do not start `broadsheet "
            "search-follow` (it runs as its own service; beside a `serve` on the same data "
            "directory it would only stand by, taking over if the server's stops)",
        )

    def handle(self, *args, once=False, no_search_follower=False, **options):
        # Saved searches (digests, channels) search this host's own indexes when each node
        # keeps its own: this host must keep them too.
        follower = follows_changes() and not no_search_follower
        jobs = scheduled_jobs()
        if not jobs:
            self.stderr.write("No ingest jobs (see BROADSHEET_INGEST_* in .env.example).")

        def daily():
            # One after the other: embedding needs what the ingest jobs just stored.
            for name, job in jobs:
                _guarded(name, job)()

        if once:
            daily()
            if follower:  # what the ingest just stored, searchable here before the digests
                try:
                    call_command("search-follow", "--once")
                except CommandError as e:  # another follower keeps this directory: it will do
                    log.info("search index: %s", e)
            for name, job, _ in [*digest_jobs(), *upkeep_jobs()]:
                _guarded(name, job)()
            return
        hour, minute = settings.INGEST_AT
        # APScheduler logs every job it adds and every run at INFO; our own job lines
        # (run_exclusive) say what matters.
        logging.getLogger("apscheduler").setLevel(logging.WARNING)
        scheduler = BlockingScheduler(timezone=settings.TIME_ZONE)
        # A heartbeat row for /readyz and the status page: a stopped worker shows as stale.
        me, started = process_name("worker"), timezone.now()
        beat(me, started)
        scheduler.add_job(beat, "interval", args=(me, started), seconds=BEAT_SECONDS, id="beat")
        scheduler.add_job(
            daily,
            CronTrigger(hour=hour, minute=minute, timezone=settings.TIME_ZONE),
            id="daily",
            max_instances=1,
            coalesce=True,
            misfire_grace_time=3600,
        )
        for name, job, cron in [*digest_jobs(), *upkeep_jobs()]:
            scheduler.add_job(
                _guarded(name, job, only_when.get(name)),
                CronTrigger(timezone=settings.TIME_ZONE, **cron),
                id=name,
                max_instances=1,
                coalesce=True,
                misfire_grace_time=3600,
            )
        names = ", ".join(name for name, _ in jobs)
        if names:
            self.stdout.write(f"{names}: every day at {hour:02d}:{minute:02d} {settings.TIME_ZONE}")
        others = ", ".join(name for name, _, _ in [*digest_jobs(), *upkeep_jobs()])
        self.stdout.write(f"Worker started: {others} on their schedules.")
        # SIGTERM stops the scheduler as Ctrl-C does; a job already running finishes (every
        # job commits in batches) and releases its claim before the process exits.
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        children = []
        if follower:
            children.append(JobWorker(worker_command("search-follow"), "the search follower"))
        for child in children:
            child.start()
            scheduler.add_job(child.keep_alive, "interval", seconds=1, id=f"keep {child.what}")
        try:
            scheduler.start()
        except (KeyboardInterrupt, SystemExit):
            scheduler.shutdown(wait=False)
        finally:
            for child in children:
                child.stop()
