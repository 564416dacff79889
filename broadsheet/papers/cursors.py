"""`since` cursors: a list of rows in the order they arrived or changed, read page by page
with no row missed or repeated, however many share one timestamp.

A cursor names a place in the order (time, id): the time a row was stored or last changed
(Paper.modified, Listing.created) and its id, which breaks ties. Its text is opaque to
callers ("20261205T095135.123456Z-1234"); they may also start from a date or an ISO 8601
time instead. Rows changed in the last `settle` seconds are left for a later read: a write
still in its transaction may carry an earlier time than rows already committed, and the
cursor would otherwise move past it before it can be seen.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from django.db.models import Q, QuerySet
from django.utils import timezone

_CURSOR = re.compile(r"(\d{8}T\d{6}\.\d{6})Z-(\d{1,19})", re.ASCII)
_FORMAT = "%Y%m%dT%H%M%S.%f"
_ISO = re.compile(r"\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:?\d{2})?)?")
MAX_ID = 2**63 - 1


class CursorError(ValueError):
    """A `since` value that is neither a cursor nor a date or time; the message says so."""


@dataclass(frozen=True, order=True)
class Cursor:
    moment: dt.datetime  # aware, UTC
    pk: int = 0  # rows after (moment, pk); 0: every row at `moment` itself

    def __str__(self) -> str:
        return f"{self.moment.astimezone(dt.UTC).strftime(_FORMAT)}Z-{self.pk}"

    @classmethod
    def parse(cls, text: str) -> Cursor:
        text = text.strip()
        m = _CURSOR.fullmatch(text)
        try:
            if m:
                moment = dt.datetime.strptime(m[1], _FORMAT).replace(tzinfo=dt.UTC)
                pk = int(m[2])
                if pk > MAX_ID:
                    raise ValueError
                return cls(moment, pk)
            if _ISO.fullmatch(text):
                moment = dt.datetime.fromisoformat(text.replace(" ", "T"))
                if timezone.is_naive(moment):
                    moment = timezone.make_aware(moment)  # a date or local time: the site's
                return cls(moment.astimezone(dt.UTC))
        except (ValueError, OverflowError):
            pass
        raise CursorError(
            "`since` takes the `nextSince` of an earlier answer, or a date or time "
            "(2026-06-23, 2026-06-23T09:00:00Z)."
        )


def settled(settle_seconds: int) -> dt.datetime:
    """The latest time a cursor reads up to now."""
    return timezone.now() - dt.timedelta(seconds=settle_seconds)


def after(rows: QuerySet, cursor: Cursor, field: str, up_to: dt.datetime) -> QuerySet:
    """The rows after `cursor` in (field, id) order, up to the time `up_to`, oldest first."""
    place = Q(**{f"{field}__gt": cursor.moment}) | Q(**{field: cursor.moment, "pk__gt": cursor.pk})
    return rows.filter(place, **{f"{field}__lte": up_to}).order_by(field, "pk")


def newest(rows: QuerySet, field: str, up_to: dt.datetime) -> Cursor | None:
    """The cursor just after the newest row up to `up_to`: where to start for only what is
    new from now on (None when there is no row)."""
    last = (
        rows.filter(**{f"{field}__lte": up_to})
        .order_by(f"-{field}", "-pk")
        .values_list(field, "pk")
        .first()
    )
    return Cursor(last[0], last[1]) if last else None


def next_cursor(page: list, field: str, given: Cursor) -> Cursor:
    """Where the next read starts: after the page's last row, or where this one did."""
    if not page:
        return given
    last = page[-1]
    return Cursor(getattr(last, field), last.pk)
