"""/collections/import: import a library into a collection (POST with a CSRF token).

The work is in broadsheet.library.imports; this only reads the form, spends the member's
hourly allowance and shows the report or what was wrong (400), never a traceback."""

from __future__ import annotations

import time

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from broadsheet.lib import limits
from broadsheet.library.entries import LibraryError
from broadsheet.library.imports import (
    import_broadsheet,
    import_file,
    import_zotero,
    reimport,
    updatable,
)
from broadsheet.library.models import ZoteroKey
from broadsheet.library.zotero_library import ZoteroSource
from broadsheet.papers.models import Collection


def _page(request, *, report=None, error: str = "", message: str = "", status: int = 200):
    imported = (
        Collection.objects.owned_by(request.user)
        .exclude(source="")
        .with_counts()
        .order_by("-imported_at", "name")
    )
    kept = set(
        ZoteroKey.objects.filter(collection__owner=request.user).values_list(
            "collection_id", flat=True
        )
    )
    context = {
        "report": report,
        "error": error,
        "message": message,
        "imported": [(c, updatable(c), c.pk in kept) for c in imported],
        "max_bytes": settings.LIBRARY_MAX_BYTES,
        "max_entries": settings.LIBRARY_MAX_ENTRIES,
        "fetch_max": settings.LIBRARY_FETCH_MAX,
        "kind": request.POST.get("kind", "file"),
    }
    return render(request, "library/import.html", context, status=status)


def _run(request):
    kind = request.POST.get("kind")
    # Within the time a page has (gunicorn's BROADSHEET_TIMEOUT is 30 s by default).
    deadline = time.monotonic() + settings.LIBRARY_PAGE_SECONDS
    if kind == "file":
        upload = request.FILES.get("file")
        if upload is None:
            raise LibraryError("Choose a BibTeX (.bib) or RIS (.ris) file to import.")
        if upload.size > settings.LIBRARY_MAX_BYTES:
            raise LibraryError(
                f"The file has {upload.size:,} bytes; at most {settings.LIBRARY_MAX_BYTES:,} "
                "are accepted. Export a collection of the library instead."
            )
        return import_file(request.user, upload.name, upload.read(), deadline=deadline)
    if kind == "zotero":
        source = ZoteroSource.checked(
            request.POST.get("library_type", "user"),
            request.POST.get("library_id", ""),
            request.POST.get("api_key", ""),
            request.POST.get("collection", ""),
        )
        remember = request.POST.get("remember") == "on"
        return import_zotero(request.user, source, remember=remember, deadline=deadline)
    if kind == "broadsheet":
        return import_broadsheet(request.user, request.POST.get("url", ""), deadline=deadline)
    if kind == "update":
        return reimport(request.user, _imported(request), deadline=deadline)
    raise LibraryError("Say what to import: a file, a Zotero library or a Broadsheet collection.")


def _imported(request) -> Collection:
    """The member's own imported collection named by the form (a LibraryError otherwise)."""
    pk = request.POST.get("collection", "")
    collection = None
    if pk.isascii() and pk.isdigit() and len(pk) < 19:
        collection = Collection.objects.filter(owner=request.user, pk=int(pk)).first()
    if collection is None or not collection.source:
        raise LibraryError("No such imported collection of yours.")
    return collection


@login_required
def import_page(request):
    if request.method != "POST":
        return _page(request)
    if request.POST.get("kind") == "forget":
        try:
            collection = _imported(request)
        except LibraryError as e:
            return _page(request, error=str(e), status=400)
        ZoteroKey.objects.filter(collection=collection).delete()
        return _page(request, message=f"The Zotero key of “{collection.name}” is forgotten.")
    try:
        limits.spend(
            limits.Limit("library-import", settings.LIBRARY_IMPORTS_PER_HOUR, 3600),
            f"user:{request.user.pk}",
            "You have imported libraries too often in the last hour.",
        )
        report = _run(request)
    except limits.RateLimited as e:
        return limits.too_many_page(request, str(e), e.retry_after)
    except LibraryError as e:
        return _page(request, error=str(e), status=400)
    return _page(request, report=report)
