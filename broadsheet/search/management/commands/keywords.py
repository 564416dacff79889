from django.core.management.base import BaseCommand, CommandError

from broadsheet.search.keywords import keyword_missing


class Command(BaseCommand):
    help = (
        "Extract a few keywords for every paper that has none yet (after `embed`: the stored "
        "vectors are reused). Safe to run twice; --all recomputes every paper."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--limit", type=int, default=None, help="Do at most this many papers, then stop."
        )
        parser.add_argument(
            "--all",
            action="store_true",
            help="Recompute every paper's keywords (after changing the method).",
        )

    def handle(self, *args, limit: int | None, all: bool, **options):
        if limit is not None and limit < 0:
            raise CommandError("--limit must not be negative")
        counts = keyword_missing(limit=limit, progress=True, redo=all)
        self.stdout.write(f"Keywords: {counts}.")
