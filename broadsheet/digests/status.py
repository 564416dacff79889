"""The Digests section of the admin status page: who receives digests and what is unsent."""

from __future__ import annotations

from django.db.models import Count, Max, Q

from broadsheet.lib import status

from .models import DigestRun, Subscription


def digest_rows() -> status.Rows:
    subs = Subscription.objects.aggregate(
        receiving=Count("pk", filter=Q(active=True, confirmed_at__isnull=False)),
        unconfirmed=Count("pk", filter=Q(confirmed_at__isnull=True)),
        disabled=Count("pk", filter=~Q(disabled_reason="")),
    )
    yield "subscriptions receiving digests", subs["receiving"]
    yield "waiting for confirmation", subs["unconfirmed"]
    yield "disabled after bounces", subs["disabled"]
    runs = DigestRun.objects.aggregate(
        unsent=Count("pk", filter=Q(status__in=["pending", "sending"])),
        failed=Count("pk", filter=Q(status="failed")),
        last_sent=Max("sent_at"),
    )
    yield "unsent digests (pending or being sent)", runs["unsent"]
    yield "failed digests", runs["failed"]
    yield "last digest sent", runs["last_sent"] or "never"
