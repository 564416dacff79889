"""`broadsheet search-follow`: keep this node's search indexes in step with PostgreSQL."""

from __future__ import annotations

import logging

from django.core.management.base import BaseCommand, CommandError

from broadsheet.search.backends import change_follower, follows_changes

log = logging.getLogger("broadsheet.search")


class Command(BaseCommand):
    help = (
        "PostgreSQL (search engine `embedded`, the default): build this node's search indexes "
        "(tantivy, vectors) in BROADSHEET_DATA_DIR from the database if it has none, then "
        "follow the database's change log (woken by NOTIFY, else every --poll seconds). "
        "`broadsheet serve` starts it; safe to kill at any time. While another follower "
        "keeps the same data directory, it stands by and takes over when that one exits."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--poll", type=float, default=None, help="seconds between checks without a NOTIFY"
        )
        parser.add_argument(
            "--rebuild",
            action="store_true",
            help="build this node's indexes afresh from the database first",
        )
        parser.add_argument(
            "--once",
            action="store_true",
            help="build if need be, index what changed (vectors too), exit",
        )

    def handle(self, *args, poll=None, once=False, rebuild=False, **options):
        if not follows_changes():
            raise CommandError(
                "search-follow is for PostgreSQL sites with BROADSHEET_SEARCH_ENGINE=embedded; "
                "elsewhere the indexes are written with every change or searches are served "
                "from the database, and there is nothing to follow"
            )
        follower = change_follower()
        if poll is not None and poll <= 0:
            raise CommandError("--poll must be more than 0 seconds")
        try:
            with follower.node_lock(wait=not once):
                f = follower.Follower()
                if rebuild:
                    f.build()
                if once:
                    f.prepare()
                    done = f.step()
                    f.apply_vectors()
                    self.stdout.write(f"Indexed {done} changed papers.")
                    return
                self.stdout.write("Following the database's changes.")
                self.stdout.flush()
                f.run(poll=poll or follower.POLL_SECONDS)
        except follower.FollowerBusy as e:
            raise CommandError(str(e)) from None
        except KeyboardInterrupt:
            self.stdout.write("Stopped.")
