"""Digest periods: a day (`2026-11-30`) for daily digests, an ISO week (`2026-W49`) for weekly.

A period is the key of the DigestRun unique constraint, so whatever runs the sender and however
often, a subscriber gets one digest per period.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone

DAILY, WEEKLY = "daily", "weekly"
_DAY = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_WEEK = re.compile(r"(\d{4})-W(\d{2})")


class BadPeriod(ValueError):
    pass


@dataclass(frozen=True)
class Period:
    kind: str  # DAILY or WEEKLY
    first_day: dt.date  # the day itself, or the Monday of the week

    @property
    def key(self) -> str:
        if self.kind == DAILY:
            return self.first_day.isoformat()
        year, week, _ = self.first_day.isocalendar()
        return f"{year}-W{week:02d}"

    @property
    def label(self) -> str:
        if self.kind == DAILY:
            return f"{self.first_day:%A} {self.first_day.day} {self.first_day:%B %Y}"
        year, week, _ = self.first_day.isocalendar()
        return f"week {week} of {year}"

    @property
    def length(self) -> dt.timedelta:
        return dt.timedelta(days=1 if self.kind == DAILY else 7)

    def start(self) -> dt.datetime:
        return timezone.make_aware(dt.datetime.combine(self.first_day, dt.time()))


def parse_period(text: str) -> Period:
    text = text.strip()
    try:
        if m := _DAY.fullmatch(text):
            return Period(DAILY, dt.date(int(m[1]), int(m[2]), int(m[3])))
        if m := _WEEK.fullmatch(text):
            return Period(WEEKLY, dt.date.fromisocalendar(int(m[1]), int(m[2]), 1))
    except ValueError as e:
        raise BadPeriod(f"{text!r}: {e}") from None
    raise BadPeriod(f"{text!r}: expected a day (2026-11-30) or an ISO week (2026-W49)")


def current_periods(now: dt.datetime | None = None) -> list[Period]:
    """Today, for daily digests; and this week, on the weekly digest's day."""
    today = timezone.localdate(now or timezone.now())
    periods = [Period(DAILY, today)]
    if today.weekday() == settings.DIGEST_WEEKLY_DAY:
        periods.append(Period(WEEKLY, today - dt.timedelta(days=today.weekday())))
    return periods
