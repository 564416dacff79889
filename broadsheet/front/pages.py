"""Labels the feed pages put in their links."""

from __future__ import annotations

import datetime as dt


def week_label(day: dt.date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"
