"""`broadsheet send-digests`: send the due email digests (and pending confirmations)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from broadsheet.digests.periods import BadPeriod, parse_period
from broadsheet.digests.send import send_confirmations, send_digests
from broadsheet.digests.subscribe import DigestError, normalise_email


class Command(BaseCommand):
    help = (
        "Send the email digests due now (today's daily digests; weekly ones on "
        "BROADSHEET_DIGEST_WEEKLY_DAY), retry earlier failures whose time has come, and send "
        "pending confirmation emails. Safe to run twice at once or again after a crash: each "
        "subscriber gets one digest per period."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--dry-run", action="store_true", help="list what would be sent; send and store nothing"
        )
        parser.add_argument("--email", metavar="ADDRESS", help="only this subscriber")
        parser.add_argument(
            "--period",
            action="append",
            metavar="PERIOD",
            help="a day (2026-11-30: daily digests) or an ISO week (2026-W49: weekly); "
            "repeatable; default: the periods due now",
        )

    def handle(self, *args, dry_run=False, email=None, period=None, **options):
        try:
            for p in period or ():
                parse_period(p)
            if email:
                email = normalise_email(email)
        except (BadPeriod, DigestError) as e:
            raise CommandError(f"--period/--email: {e}") from None
        problems: list[str] = []
        if not dry_run:
            confirmations = send_confirmations(problems)
            if confirmations:
                self.stdout.write(f"{confirmations} confirmation emails sent")
        counts = send_digests(period, dry_run=dry_run, email=email, out=self.stdout)
        self.stdout.write(str(counts))
        # One message that could not be sent is recorded on its row and is no reason to fail;
        # a mail server that cannot be reached is.
        if counts.systemic:
            problems.append(counts.systemic)
        if problems:
            raise CommandError("; ".join(problems))
