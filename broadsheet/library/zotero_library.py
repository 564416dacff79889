"""A Zotero library, or one collection of it, through the Zotero web API (pyzotero).

The member gives a user or group id, an API key (public libraries need none) and optionally
a collection key. Only top-level items are read (not attachments or notes), 100 a request,
following Zotero's "next" links up to the import's entry limit. The key is used for these
requests only; nothing here stores it. BROADSHEET_ZOTERO_API_URL points at the API (tests
point it at a local server replaying recorded answers).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

import httpx
from django.conf import settings
from pyzotero import zotero, zotero_errors

from broadsheet.library.entries import (
    LibraryEntry,
    LibraryError,
    ParsedLibrary,
    arxiv_id_in,
    doi_in,
    parse_date,
)

_ID = re.compile(r"[0-9]{1,12}")
_KEY = re.compile(r"[A-Z0-9]{8}")
_API_KEY = re.compile(r"[A-Za-z0-9]{1,64}")
SKIPPED_TYPES = {"attachment", "note", "annotation"}
# Fields of a Zotero item that may name the arXiv id (preprints keep it in archiveID,
# "arXiv:2401.01234"; older items in extra, the URL or the DOI).
TEXT_FIELDS = ("archiveID", "url", "DOI", "extra", "publicationTitle", "repository", "number",
               "journalAbbreviation", "proceedingsTitle")  # fmt: skip


@dataclass(frozen=True)
class ZoteroSource:
    library_type: str  # "user" or "group"
    library_id: str
    api_key: str = ""
    collection_key: str = ""

    @classmethod
    def checked(cls, library_type: str, library_id: str, api_key: str = "", collection: str = ""):
        library_type = (library_type or "user").strip().lower()
        library_id, api_key = (library_id or "").strip(), (api_key or "").strip()
        collection = (collection or "").strip().upper()
        if library_type not in {"user", "group"}:
            raise LibraryError("The Zotero library is either a user's or a group's.")
        if not _ID.fullmatch(library_id):
            raise LibraryError(
                "Give the Zotero user or group id: the number shown at zotero.org/settings/keys "
                '("Your user ID for use in API calls") or in the group\'s URL.'
            )
        if api_key and not _API_KEY.fullmatch(api_key):
            raise LibraryError("That is not a Zotero API key (letters and digits only).")
        if collection and not _KEY.fullmatch(collection):
            raise LibraryError(
                "A Zotero collection key is 8 letters and digits, as in "
                "zotero.org/.../collections/ABCD2345."
            )
        return cls(library_type, library_id, api_key, collection)

    @classmethod
    def from_key(cls, key: str, api_key: str = "") -> ZoteroSource:
        """The source a collection was imported from (its Collection.source), with a key."""
        parts = key.split(":")
        if len(parts) not in (3, 5) or parts[0] != "zotero":
            raise LibraryError("This collection was not imported from Zotero.")
        return cls.checked(parts[1], parts[2], api_key, parts[4] if len(parts) == 5 else "")

    @property
    def key(self) -> str:
        """What the imported collection remembers (never the API key)."""
        tail = f":collection:{self.collection_key}" if self.collection_key else ""
        return f"zotero:{self.library_type}:{self.library_id}{tail}"


def entry_of(item: dict) -> LibraryEntry | None:
    data = item.get("data") if isinstance(item.get("data"), dict) else item
    if not isinstance(data, dict) or data.get("itemType") in SKIPPED_TYPES:
        return None
    text = {name: str(data.get(name) or "") for name in TEXT_FIELDS}
    url = text["url"]
    return LibraryEntry(
        where=f"item {data.get('key') or item.get('key') or '?'}",
        title=" ".join(str(data.get("title") or "").split()),
        arxiv_id=arxiv_id_in(text.values()),
        doi=doi_in(text["DOI"]) or (doi_in(url) if "doi.org/" in url else None),
        added=parse_date(str(data.get("dateAdded") or "")),
    )


def _client(source: ZoteroSource) -> zotero.Zotero:
    client = zotero.Zotero(source.library_id, source.library_type, source.api_key or None)
    client.endpoint = settings.ZOTERO_API_URL
    return client


def fetch_zotero(
    source: ZoteroSource, max_entries: int, deadline: float | None = None
) -> tuple[str, ParsedLibrary]:
    """(the collection name to use, the entries) of a Zotero library or collection.

    Past `deadline` (time.monotonic(); a page waiting) the library is refused whole: a part
    of it would make the import remove the rest from the collection."""
    what = f"Zotero {source.library_type} library {source.library_id}"
    try:
        client = _client(source)
        if source.collection_key:
            name = str(client.collection(source.collection_key)["data"]["name"])[:80]
            items = client.collection_items_top(source.collection_key, limit=100)
            title = f"Zotero: {name}"
        else:
            items = client.top(limit=100)
            title = f"Zotero {source.library_type} {source.library_id}"
        items = list(items)
        while len(items) < max_entries and client.links and client.links.get("next"):
            if deadline is not None and time.monotonic() > deadline:
                raise LibraryError(
                    f"{what} is too large to read while a page waits ({len(items)} items read "
                    "so far). Import one collection of it, or ask an administrator to run "
                    "`broadsheet import-library`, which has no time limit."
                )
            items.extend(client.follow())
    except zotero_errors.UserNotAuthorisedError:
        raise LibraryError(
            f"Zotero refused to show {what}: check the id, and give an API key allowed to "
            "read it (a private library always needs one)."
        ) from None
    except zotero_errors.ResourceNotFoundError:
        raise LibraryError(f"Zotero has no {what}" + (
            f" collection {source.collection_key}." if source.collection_key else ".")
        ) from None  # fmt: skip
    except (zotero_errors.PyZoteroError, httpx.HTTPError, OSError) as e:
        raise LibraryError(
            f"Zotero could not be reached or refused the request ({type(e).__name__}). "
            "Try again in a few minutes."
        ) from None
    except (ValueError, KeyError, TypeError):
        raise LibraryError(
            "Zotero's answer could not be read. Try again in a few minutes."
        ) from None
    parsed = ParsedLibrary()
    for item in items[:max_entries]:
        entry = entry_of(item) if isinstance(item, dict) else None
        if entry is not None:
            parsed.entries.append(entry)
    return title, parsed
