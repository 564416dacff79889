"""The three ways a library comes in, for the page and the command alike: a file, a Zotero
library or collection, another Broadsheet's public collection."""

from __future__ import annotations

from django.conf import settings

from broadsheet.library.broadsheet_collection import fetch_collection
from broadsheet.library.entries import LibraryError
from broadsheet.library.files import parse_file, source_of_file
from broadsheet.library.importer import ImportReport, import_library
from broadsheet.library.zotero_library import ZoteroSource, fetch_zotero


def import_file(user, filename: str, data: bytes, **options) -> ImportReport:
    if len(data) > settings.LIBRARY_MAX_BYTES:
        raise LibraryError(
            f"The file has {len(data):,} bytes; at most {settings.LIBRARY_MAX_BYTES:,} are "
            "accepted. Export a collection of the library instead."
        )
    source, name = source_of_file(filename)
    return import_library(user, source, name, parse_file(filename, data), **options)


def import_zotero(user, source: ZoteroSource, **options) -> ImportReport:
    # One more than the limit, so that an over-long library is refused rather than cut short.
    deadline = options.get("deadline")
    name, parsed = fetch_zotero(source, settings.LIBRARY_MAX_ENTRIES + 1, deadline)
    return import_library(user, source.key, name, parsed, **options)


def import_broadsheet(user, address: str, **options) -> ImportReport:
    key, name, parsed = fetch_collection(address, settings.LIBRARY_MAX_ENTRIES + 1)
    return import_library(user, key, name, parsed, **options)
