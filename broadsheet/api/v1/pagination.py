"""limit/offset pages with RFC 8288 `Link` headers (rel="next", "prev")."""

from __future__ import annotations

from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse

MAX_OFFSET = 10_000  # deep offsets are slow on every database; nobody pages this far


def link_header(
    request: HttpRequest, response: HttpResponse, *, total: int, limit: int, offset: int
) -> None:
    links = []

    def url(new_offset: int) -> str:
        query = request.GET.copy()
        query["offset"] = str(new_offset)
        query["limit"] = str(limit)
        return request.build_absolute_uri(f"{request.path}?{urlencode(query, doseq=True)}")

    if offset + limit < total and offset + limit <= MAX_OFFSET:
        links.append(f'<{url(offset + limit)}>; rel="next"')
    if offset > 0:
        links.append(f'<{url(max(0, offset - limit))}>; rel="prev"')
    if links:
        response["Link"] = ", ".join(links)
