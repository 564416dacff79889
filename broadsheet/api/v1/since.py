"""The `since` parameter of /api/v1/papers and /api/v1/listings (papers/cursors.py): one page
of what arrived after a cursor, and where the next read starts."""

from __future__ import annotations

from django.conf import settings
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse

from broadsheet.api.callers import ApiError
from broadsheet.papers import cursors


def page_since(
    request: HttpRequest, response: HttpResponse, rows: QuerySet, field: str, filters
) -> tuple[list, int, str]:
    """(the page, how many rows are left from the cursor on, the next cursor), oldest first.
    A `Link` header names the next page while there is more."""
    if filters.offset:
        raise ApiError("With `since`, page with `nextSince`, not `offset`.")
    try:
        given = cursors.Cursor.parse(filters.since)
    except cursors.CursorError as e:
        raise ApiError(str(e)) from None
    left = cursors.after(rows, given, field, cursors.settled(settings.API_SINCE_SETTLE_SECONDS))
    total = left.count()
    page = list(left[: filters.limit])
    following = str(cursors.next_cursor(page, field, given))
    if total > len(page):
        query = request.GET.copy()
        query["since"] = following
        response["Link"] = (
            f'<{request.build_absolute_uri(request.path)}?{query.urlencode()}>; rel="next"'
        )
    return page, total, following


def newest(rows: QuerySet, field: str) -> str | None:
    """The cursor after the newest row now: where a script starts for only what is new."""
    found = cursors.newest(rows, field, cursors.settled(settings.API_SINCE_SETTLE_SECONDS))
    return str(found) if found else None
