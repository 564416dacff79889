from django.core.management.base import BaseCommand

from broadsheet.search.indexing import reindex


class Command(BaseCommand):
    help = (
        "Rebuild the search index (documents, words, and the vector index file in SQLite mode) "
        "from the database. Keeps stored vectors: nothing is re-embedded. Safe to run twice."
    )

    def handle(self, *args, **options):
        counts = reindex(progress=True)
        self.stdout.write(f"Reindex: {counts}.")
