from django.core.management.base import BaseCommand

from broadsheet.papers.models import Paper
from broadsheet.papers.sample import SAMPLE_DAY, load_sample


class Command(BaseCommand):
    help = (
        f"Load the sample listing (34 real papers on the feed of {SAMPLE_DAY}). Safe to run twice."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="Only load when the database holds no papers at all (used by ./run).",
        )

    def handle(self, *args, if_empty=False, **options):
        if if_empty and Paper.objects.exists():
            self.stdout.write("The database already holds papers; sample not loaded.")
            return
        created, existing = load_sample()
        self.stdout.write(f"Sample listing: {created} papers added, {existing} already present.")
