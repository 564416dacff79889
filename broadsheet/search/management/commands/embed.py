from django.core.management.base import BaseCommand, CommandError

from broadsheet.search import query_model
from broadsheet.search.embedder import BATCH_SIZE
from broadsheet.search.indexing import embed_missing
from broadsheet.search.indexing import reembed as reembed_all


class Command(BaseCommand):
    help = (
        "Compute the missing search vectors (papers new or changed since the last run), then "
        "update the vector index. Safe to run twice, and after every ingest. With --reembed, "
        "give every paper a vector of the current model (staged while searches go on, swapped "
        "in when complete; resumable)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--batch-size",
            type=int,
            default=BATCH_SIZE,
            help=f"Texts per model call (default {BATCH_SIZE}; larger is not faster on 2 cores).",
        )
        parser.add_argument(
            "--limit", type=int, default=None, help="Embed at most this many papers, then stop."
        )
        parser.add_argument(
            "--reembed",
            action="store_true",
            help="Re-embed every paper whose vector is not of the current model.",
        )

    def handle(self, *args, batch_size: int, limit: int | None, reembed: bool, **options):
        if batch_size < 1 or (limit is not None and limit < 0):
            raise CommandError("--batch-size must be at least 1 and --limit not negative")
        if reembed:
            self.stdout.write(f"Re-embedding: {reembed_all(batch_size, limit, progress=True)}.")
        else:
            counts = embed_missing(batch_size=batch_size, limit=limit, progress=True)
            self.stdout.write(f"Embedding: {counts}.")
        # Made here, so that a server's first search does not wait for it.
        query_model.path()
