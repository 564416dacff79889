"""Papers' thumbnails from the worker's store (DATA_DIR/thumbnails), with long caching.

The URL is the same for a paper's whole life (/thumbnails/<id>.webp) and the file is written
once, so browsers keep it a week and then ask again with its ETag (a 304 costs nothing).
Files appear while the server runs, which whitenoise (it lists its files at start) would
not see: hence a view.
"""

from __future__ import annotations

import os

from django.http import FileResponse, Http404, HttpRequest
from django.views.decorators.http import condition, require_safe

from broadsheet.ingest.thumbnails import file_name, store

CACHE_CONTROL = "public, max-age=604800"


def _stat(paper_id: int) -> os.stat_result | None:
    try:
        return (store() / file_name(paper_id)).stat()
    except OSError:
        return None


def _etag(request: HttpRequest, paper_id: int) -> str | None:
    st = _stat(paper_id)
    return f"{st.st_mtime_ns:x}-{st.st_size:x}" if st else None


@require_safe
@condition(etag_func=_etag)
def thumbnail(request: HttpRequest, paper_id: int) -> FileResponse:
    try:
        handle = (store() / file_name(paper_id)).open("rb")
    except OSError:
        raise Http404("No thumbnail for this paper yet.") from None
    response = FileResponse(handle, content_type="image/webp")
    response["Cache-Control"] = CACHE_CONTROL
    return response
