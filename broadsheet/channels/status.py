"""The Channels section of the admin status page: active and switched-off channels, what is
unsent."""

from __future__ import annotations

from django.db.models import Count, Max, Q

from broadsheet.lib import status

from .models import Channel, ChannelRun


def channel_rows() -> status.Rows:
    channels = Channel.objects.aggregate(
        active=Count("pk", filter=Q(enabled=True, disabled_reason="")),
        site=Count("pk", filter=Q(owner__isnull=True)),
        off=Count("pk", filter=~Q(disabled_reason="")),
    )
    yield "active channels", channels["active"]
    yield "site channels", channels["site"]
    yield "switched off after failures", channels["off"]
    runs = ChannelRun.objects.aggregate(
        unsent=Count("pk", filter=Q(status__in=["pending", "sending"])),
        failed=Count("pk", filter=Q(status="failed")),
        last_sent=Max("sent_at"),
    )
    yield "unsent channel messages (pending or being sent)", runs["unsent"]
    yield "failed channel messages", runs["failed"]
    yield "last channel message sent", runs["last_sent"] or "never"
