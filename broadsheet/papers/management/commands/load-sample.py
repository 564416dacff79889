from django.core.management.base import BaseCommand

from broadsheet.papers.sample import SAMPLE_DAY, load_sample


class Command(BaseCommand):
    help = f"Load the sample listing (34 real papers on the feed of {SAMPLE_DAY}). Safe to run twice."

    def handle(self, *args, **options):
        created, existing = load_sample()
        self.stdout.write(f"Sample listing: {created} papers added, {existing} already present.")
