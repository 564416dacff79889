"""`broadsheet serve`: the production web server (gunicorn + whitenoise)."""

from __future__ import annotations

import os
import sys

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connections

from broadsheet.lib.env import SettingError, env, envint
from broadsheet.ops.migrate import migrate_locked
from broadsheet.search.backends import follows_changes


def default_workers() -> int:
    # Threads serve the concurrency; processes the cores (each holds the embedding model).
    return envint("BROADSHEET_WORKERS", os.cpu_count() or 1, minimum=1)


def gunicorn_options(bind: str, workers: int, threads: int, timeout: int) -> dict:
    return {
        "bind": [b.strip() for b in bind.split(",") if b.strip()],
        "workers": workers,
        "threads": threads,
        "worker_class": "gthread",
        "timeout": timeout,
        "graceful_timeout": timeout,
        "keepalive": 5,
        # Our request log lines (RequestLogMiddleware) are the access log: they carry the
        # duration and follow BROADSHEET_LOG_FORMAT; gunicorn's own goes to the same handler.
        "accesslog": None,
        "logconfig_dict": settings.LOGGING,
        # The proxies the site trusts for X-Forwarded-* (settings.FORWARDED_ALLOW_IPS, which
        # also names the client: lib.clients); gunicorn takes the scheme from them.
        "forwarded_allow_ips": ",".join(settings.FORWARDED_ALLOW_IPS),
        "proc_name": "broadsheet",
        # Load the app before forking: workers share its memory pages and a broken settings
        # file fails once, at start, with its message.
        "preload_app": True,
        # gunicorn's control socket is one path per user: two servers on a host would clash.
        "control_socket_disable": True,
    }


class Command(BaseCommand):
    help = (
        "Serve the site with gunicorn (static files by whitenoise). Applies migrations and "
        "collects static files first unless --no-prepare. Defaults from BROADSHEET_BIND, "
        "BROADSHEET_WORKERS (CPU cores), BROADSHEET_THREADS, BROADSHEET_TIMEOUT."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--bind", default=None, help="host:port (or unix:PATH), comma-separated"
        )
        parser.add_argument("--workers", type=int, default=None, help="processes")
        parser.add_argument("--threads", type=int, default=None, help="threads per process")
        parser.add_argument("--timeout", type=int, default=None, help="seconds per request")
        parser.add_argument(
            "--no-prepare",
            action="store_true",
            help="skip `migrate` and `collectstatic` (when a deploy step already ran them)",
        )
        parser.add_argument(
            "--no-search-follower",
            action="store_true",
            help="PostgreSQL (search engine `embedded`, the default): do not start "
            "`broadsheet search-follow` (when it runs as its own service)",
        )
        parser.add_argument(
            "--no-page-renderer",
            action="store_true",
            help="do not start `broadsheet render-pages`: the web workers render changed "
            "cached pages themselves",
        )
        parser.add_argument(
            "--with-worker",
            action="store_true",
            help="also run `broadsheet worker` (mail, scheduled jobs) as a supervised child, "
            "stopped with the server (./run uses this)",
        )

    def handle(self, *args, bind=None, workers=None, threads=None, timeout=None, **options):
        try:
            bind = bind or env("BROADSHEET_BIND", "127.0.0.1:8000")
            workers = workers or default_workers()
            threads = threads or envint("BROADSHEET_THREADS", 4, minimum=1)
            timeout = timeout or envint("BROADSHEET_TIMEOUT", 30, minimum=1)
        except SettingError as e:
            raise CommandError(str(e)) from None
        if not options["no_prepare"]:
            migrate_locked()
            call_command("collectstatic", interactive=False, verbosity=0)
        from gunicorn.app.base import BaseApplication
        from gunicorn.arbiter import Arbiter

        from broadsheet.ops.supervise import JobWorker, worker_command
        from broadsheet.wsgi import application

        children = []
        if options["with_worker"]:
            # On this node's data directory, whose indexes this server's follower (or its own
            # service) keeps.
            worker = worker_command() + (["--no-search-follower"] if follows_changes() else [])
            children.append(JobWorker(worker))
        if settings.PAGE_CACHE_SECONDS and not settings.PRIVATE and not options["no_page_renderer"]:
            # Changed cached pages are rendered there, not in the threads serving readers.
            children.append(JobWorker(worker_command("render-pages"), "the page renderer"))
        if follows_changes() and not options["no_search_follower"]:
            # This node's search indexes, kept in step with the database.
            children.append(JobWorker(worker_command("search-follow"), "the search follower"))

        class Supervisor(Arbiter):
            """gunicorn's master, which also keeps its children running: the page renderer,
            the job worker, the search follower."""

            def start(self):
                super().start()
                for child in children:
                    child.start()

            def manage_workers(self):
                super().manage_workers()
                for child in children:
                    child.keep_alive()

            def stop(self, graceful=True):
                for child in children:
                    child.stop()
                super().stop(graceful)

        class Server(BaseApplication):
            def load_config(self):
                for key, value in gunicorn_options(bind, workers, threads, timeout).items():
                    self.cfg.set(key, value)

            def load(self):
                return application

            def run(self):
                try:
                    Supervisor(self).run()
                except RuntimeError as e:  # as BaseApplication.run reports it
                    sys.stderr.write(f"\nError: {e}\n")
                    sys.exit(1)

        also = "".join(f" and {child.what}" for child in children)
        self.stdout.write(
            f"Serving on {bind} with {workers} processes x {threads} threads{also}", ending="\n"
        )
        self.stdout.flush()
        # The workers are forked from this process: they must not share its database socket.
        connections.close_all()
        Server().run()
