import datetime as dt

from django.core.management.base import BaseCommand, CommandError

from broadsheet.ops.sample import SAMPLE_DAY, SAMPLE_DAYS, load_sample
from broadsheet.papers.models import Paper


def _day(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise CommandError(f"--day {text!r}: expected a date, YYYY-MM-DD") from None


class Command(BaseCommand):
    help = (
        "Load the sample data: 34 real papers on the feed of the last "
        f"{SAMPLE_DAYS} days ending today (a Daily Papers page of {SAMPLE_DAY}), and 993 "
        "real arXiv abstracts that search finds but the feed does not list, with their "
        "vectors and keywords when the site's model made them. Safe to run twice."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="Only load when the database holds no papers at all (used by ./run).",
        )
        parser.add_argument(
            "--day",
            type=_day,
            default=None,
            help=f"list all 34 papers on this day (e.g. {SAMPLE_DAY}, the page's own)",
        )
        parser.add_argument(
            "--no-arxiv", action="store_true", help="only the listing, not the arXiv set"
        )

    def handle(self, *args, if_empty=False, day=None, no_arxiv=False, **options):
        if if_empty and Paper.objects.exists():
            self.stdout.write("The database already holds papers; sample not loaded.")
            return
        counts = load_sample(day=day, arxiv=not no_arxiv)
        self.stdout.write(
            f"Sample listing: {counts.listed_new} papers added, "
            f"{counts.listed_existing} already present."
        )
        if not no_arxiv:
            self.stdout.write(
                f"arXiv set (searchable, not listed): {counts.searchable_new} papers added, "
                f"{counts.searchable_existing} already present."
            )
        added = counts.listed_new + counts.searchable_new
        if added:
            self.stdout.write(
                f"Vectors and keywords from the package: {counts.vectors} of the {added} "
                "papers added (`broadsheet embed` and `broadsheet keywords` do the rest)."
            )
