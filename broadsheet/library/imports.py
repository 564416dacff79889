"""The three ways a library comes in, for the page and the command alike: a file, a Zotero
library or collection, another Broadsheet's public collection."""

from __future__ import annotations

from django.conf import settings
from django.utils import timezone

from broadsheet.library.broadsheet_collection import fetch_collection
from broadsheet.library.entries import LibraryError
from broadsheet.library.files import parse_file, source_of_file
from broadsheet.library.importer import ImportReport, import_library
from broadsheet.library.models import ZoteroKey
from broadsheet.library.stored_keys import decrypt, encrypt
from broadsheet.library.zotero_library import ZoteroSource, fetch_zotero
from broadsheet.papers.models import Collection


def import_file(user, filename: str, data: bytes, **options) -> ImportReport:
    if len(data) > settings.LIBRARY_MAX_BYTES:
        raise LibraryError(
            f"The file has {len(data):,} bytes; at most {settings.LIBRARY_MAX_BYTES:,} are "
            "accepted. Export a collection of the library instead."
        )
    source, name = source_of_file(filename)
    return import_library(user, source, name, parse_file(filename, data), **options)


def import_zotero(
    user, source: ZoteroSource, *, remember: bool | None = None, **options
) -> ImportReport:
    """`remember`: True keeps the API key (encrypted) for one-click updates, False forgets a
    kept one, None leaves things as they are (an update with the kept key)."""
    # One more than the limit, so that an over-long library is refused rather than cut short.
    deadline = options.get("deadline")
    name, parsed = fetch_zotero(source, settings.LIBRARY_MAX_ENTRIES + 1, deadline)
    report = import_library(user, source.key, name, parsed, **options)
    if remember and source.api_key:
        ZoteroKey.objects.update_or_create(
            collection=report.collection,
            defaults={"encrypted": encrypt(source.api_key), "saved": timezone.now()},
        )
    elif remember is not None:
        ZoteroKey.objects.filter(collection=report.collection).delete()
    return report


def import_broadsheet(user, address: str, **options) -> ImportReport:
    key, name, parsed = fetch_collection(address, settings.LIBRARY_MAX_ENTRIES + 1)
    return import_library(user, key, name, parsed, **options)


def updatable(collection: Collection) -> bool:
    """Whether the site can import the collection's source again by itself (not a file)."""
    return collection.source.startswith(("zotero:", "broadsheet:"))


def reimport(user, collection: Collection, **options) -> ImportReport:
    """Import a collection's source again: a Zotero library (with the kept key, if any) or
    another Broadsheet's collection. A file has to be uploaded again."""
    if collection.source.startswith("zotero:"):
        kept = ZoteroKey.objects.filter(collection=collection).first()
        api_key = decrypt(kept.encrypted) if kept is not None else ""
        if api_key is None:
            raise LibraryError(
                "The kept Zotero key can no longer be read (the site's secret key changed): "
                "import the library again with its key."
            )
        source = ZoteroSource.from_key(collection.source, api_key)
        return import_zotero(user, source, remember=None, **options)
    if collection.source.startswith("broadsheet:"):
        return import_broadsheet(user, collection.source.removeprefix("broadsheet:"), **options)
    raise LibraryError("A file is imported again by uploading it again.")
