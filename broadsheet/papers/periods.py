"""Parsing a date, ISO week or month given as text (feed URLs, API parameters).

Anything malformed or impossible raises Http404: a page shows it as a 404, and the API turns
it into a 400 naming the parameter."""

from __future__ import annotations

import datetime as dt
import re

from django.http import Http404

# ASCII digits only: int() would read other scripts' digits and give one page many addresses.
_WEEK = re.compile(r"(\d{4})-W(\d{2})", re.ASCII)
_MONTH = re.compile(r"(\d{4})-(\d{2})", re.ASCII)
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)
# Years a feed page may name; outside it the previous/next links would leave the calendar.
YEARS = range(1000, 9999)


def parse_day(text: str) -> dt.date:
    if not _DATE.fullmatch(text):
        raise Http404("Not a date (expected YYYY-MM-DD)")
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        raise Http404("No such date") from None
    if day.year not in YEARS:
        raise Http404("No such date")
    return day


def parse_week(text: str) -> tuple[int, int]:
    m = _WEEK.fullmatch(text)
    if not m:
        raise Http404("Not a week (expected YYYY-Www)")
    year, week = int(m[1]), int(m[2])
    if year not in YEARS:
        raise Http404("No such ISO week")
    try:
        dt.date.fromisocalendar(year, week, 1)
    except ValueError:
        raise Http404("No such ISO week") from None
    return year, week


def parse_month(text: str) -> tuple[int, int]:
    m = _MONTH.fullmatch(text)
    if not m or not (1 <= int(m[2]) <= 12) or int(m[1]) not in YEARS:
        raise Http404("Not a month (expected YYYY-MM)")
    return int(m[1]), int(m[2])
