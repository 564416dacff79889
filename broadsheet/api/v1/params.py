"""Query parameters of /api/v1/ as schemas: validated (and documented) before a view runs."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Literal

from ninja import Schema
from pydantic import AfterValidator, BeforeValidator, Field

from broadsheet.api.v1.pagination import MAX_OFFSET
from broadsheet.search.papers_search import MAX_QUERY
from broadsheet.search.results import clamp_day

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)


def _iso_date_only(value: object) -> object:
    # pydantic would also read "0" or "1700000000" as a date (a Unix time): refuse anything
    # but YYYY-MM-DD, which is what the schema says.
    if isinstance(value, str) and not _ISO_DATE.fullmatch(value):
        raise ValueError("expected a date as YYYY-MM-DD")
    return value


# Days past the calendar's ends (9999-12-31) are moved inside it, as every search filter's.
IsoDate = Annotated[dt.date, BeforeValidator(_iso_date_only), AfterValidator(clamp_day)]
CATEGORY = r"^[A-Za-z][A-Za-z0-9.\-]{0,31}$"


class Page(Schema):
    limit: int = Field(20, ge=1, le=100)
    offset: int = Field(0, ge=0, le=MAX_OFFSET)


# A cursor (papers/cursors.py), or a date or ISO 8601 time to start from.
SINCE = (
    r"^(\d{8}T\d{6}\.\d{6}Z-\d{1,19}"
    r"|\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:?\d{2})?)?)$"
)
SINCE_HELP = (
    "Only what arrived or changed after this place, oldest first: the `nextSince` of an "
    "earlier answer, or a date or time to start from (2026-06-23, 2026-06-23T09:00:00Z). "
    "Pages by cursor, so `offset` must be 0. What changed in the last "
    "BROADSHEET_API_SINCE_SETTLE_SECONDS (60 by default) comes in a later read."
)


class Narrowing(Page):
    category: str | None = Field(
        None, pattern=CATEGORY, description="An arXiv category (cs.CL) or archive (cs)"
    )
    after: IsoDate | None = Field(None, description="Published on or after")
    before: IsoDate | None = Field(None, description="Published on or before")


class PaperFilters(Narrowing):
    listed: bool | None = Field(None, description="Only papers on the feed (true) or not (false)")
    since: str | None = Field(
        None,
        max_length=64,
        pattern=SINCE,
        description=SINCE_HELP + " Papers count from when they were "
        "added or their record last changed (a new arXiv version, edited links).",
    )


class SearchParams(Narrowing):
    q: str = Field(min_length=1, max_length=MAX_QUERY)
    offset: int = Field(0, ge=0, le=1000)


class ListingFilters(Page):
    # Given together, they narrow each other (a date in that week).
    date: IsoDate | None = None
    week: str | None = Field(
        None, pattern=r"^[1-9]\d{3}-W(0[1-9]|[1-4]\d|5[0-3])$", description="An ISO week: 2026-W26"
    )
    month: str | None = Field(
        None, pattern=r"^[1-9]\d{3}-(0[1-9]|1[0-2])$", description="A month: 2026-06"
    )
    submitter: str | None = Field(None, max_length=150, pattern=r"^[\w.@+-]+$")
    sort: Literal["votes", "trending", "recent"] = Field(
        "votes",
        description="votes: most votes first (the feed order); trending: time-decayed votes; "
        "recent: newest listing first. With `since`, listings come in the order they arrived",
    )
    since: str | None = Field(
        None,
        max_length=64,
        pattern=SINCE,
        description=SINCE_HELP + " Listings count from when they were stored here.",
    )


class RelatedParams(Schema):
    limit: int = Field(5, ge=1, le=20)
