"""`broadsheet send-channels`: send the channel messages due now (and waiting test messages)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from broadsheet.channels.models import Channel
from broadsheet.channels.send import send_channels, send_tests


class Command(BaseCommand):
    help = (
        "Send today's message of every channel whose time (its send_at) has come, retry earlier "
        "temporary failures whose time has come, and send waiting test messages. Safe to run "
        "twice at once or again after a crash: a channel gets one message per day."
    )

    def add_arguments(self, parser):
        parser.add_argument("--channel", type=int, metavar="ID", help="only this channel")

    def handle(self, *args, channel=None, **options):
        if channel is not None and not Channel.objects.filter(id=channel).exists():
            raise CommandError(f"--channel {channel}: no such channel")
        if channel is None:
            tests = send_tests()
            if tests:
                self.stdout.write(f"{tests} test messages delivered")
        counts = send_channels(channel_id=channel)
        self.stdout.write(str(counts))
