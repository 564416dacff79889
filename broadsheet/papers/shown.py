"""What a member was shown: papers of their New view and of their digests (`Shown`), so that
the New view marks a paper "seen" when it was shown on an earlier day or in a digest."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.db.models import Q
from django.utils import timezone

from broadsheet.papers.models import Shown


def record_shown(user_id: int, paper_ids: Iterable[int], via: str = Shown.Via.NEW) -> None:
    """One INSERT whatever the count; a paper already shown keeps its first time."""
    rows = [Shown(user_id=user_id, paper_id=pid, via=via) for pid in dict.fromkeys(paper_ids)]
    if rows:
        Shown.objects.bulk_create(rows, ignore_conflicts=True)


def seen_ids(user_id: int, paper_ids: Iterable[int], now: dt.datetime | None = None) -> set[int]:
    """Which of these papers the member saw before: in a digest, or in the New view on an
    earlier day (the site's time zone) than `now`'s."""
    now = now or timezone.now()
    day_start = timezone.make_aware(dt.datetime.combine(timezone.localdate(now), dt.time.min))
    earlier = Q(via=Shown.Via.DIGEST, first_shown__lte=now) | Q(first_shown__lt=day_start)
    rows = Shown.objects.filter(earlier, user_id=user_id, paper_id__in=list(paper_ids))
    return set(rows.values_list("paper_id", flat=True))
