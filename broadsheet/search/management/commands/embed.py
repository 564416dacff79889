import os

from django.core.management.base import BaseCommand, CommandError

from broadsheet.search import query_model
from broadsheet.search.embedder import BATCH_SIZE
from broadsheet.search.indexing import POOL_MIN, embed_missing, reembed


def _cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


class Command(BaseCommand):
    help = (
        "Compute the missing search vectors (papers new or changed since the last run), then "
        "update the vector index. Safe to run twice, and after every ingest."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--batch-size",
            type=int,
            default=BATCH_SIZE,
            help=f"Texts per model call (default {BATCH_SIZE}).",
        )
        parser.add_argument(
            "--limit", type=int, default=None, help="Embed at most this many papers, then stop."
        )
        parser.add_argument(
            "--workers",
            type=int,
            default=_cores(),
            help=(
                "Processes running the model, one thread each (default: one per core of this "
                f"machine, {_cores()}); used from {POOL_MIN} papers on, below that one process "
                "embeds. 1 embeds in this process."
            ),
        )

        parser.add_argument(
            "--reembed",
            action="store_true",
            help="Give every paper a vector of the current model (staged while searches go on, "
            "swapped in when complete; resumable).",
        )

    def handle(self, *args, batch_size: int, limit: int | None, workers: int, **options):
        if batch_size < 1 or workers < 1 or (limit is not None and limit < 0):
            raise CommandError(
                "--batch-size and --workers must be at least 1 and --limit not negative"
            )
        if options["reembed"]:
            counts = reembed(batch_size, limit, progress=True, workers=workers)
            self.stdout.write(f"Re-embedding: {counts}.")
        else:
            counts = embed_missing(batch_size, limit, progress=True, workers=workers)
            self.stdout.write(f"Embedding: {counts}.")
        # Made here, so that a server's first search does not wait for it.
        query_model.path()
