"""Another Broadsheet's public collection, through its JSON API (GET /api/v1/collections/ID).

The member pastes the collection's page (https://host/collections/12) or its API address.
The answer names each paper's arXiv id, DOI and title, which are matched as any library's
entries. The other site lists at most 500 papers of a collection.

The address is the member's: so that the site cannot be made to fetch from its own network,
hosts whose addresses are not public (loopback, private ranges, link-local) are refused
unless BROADSHEET_LIBRARY_PRIVATE_HOSTS is true (a lab's sites on one private network; tests).
"""

from __future__ import annotations

import ipaddress
import json
import re
import socket
import urllib.error
import urllib.parse
import urllib.request

from django.conf import settings

from broadsheet.ingest.http import USER_AGENT
from broadsheet.library.entries import LibraryEntry, LibraryError, ParsedLibrary

_PATH = re.compile(r"(?:/api/v1)?/collections/([0-9]{1,18})/?")
TIMEOUT = 15.0
MAX_BODY = 20 * 1024 * 1024  # 500 papers with their abstracts take about 1 MB


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is refused, not followed: it could lead past the address check."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


def _get(url: str) -> bytes:
    opener = urllib.request.build_opener(_NoRedirects)
    request = urllib.request.Request(
        url, headers={"User-Agent": USER_AGENT, "Accept": "application/json"}
    )
    try:
        with opener.open(request, timeout=TIMEOUT) as response:
            body = response.read(MAX_BODY + 1)
    except urllib.error.HTTPError as e:
        if e.code in {401, 403, 404}:
            raise LibraryError(
                f"{url} has no public collection there (HTTP {e.code}): the collection must "
                "be public."
            ) from None
        if 300 <= e.code < 400:
            raise LibraryError(
                f"{url} answered with a redirect (HTTP {e.code}); give the collection's "
                "address on the site where it is now."
            ) from None
        raise LibraryError(f"The other site could not be read (HTTP {e.code}).") from None
    except (urllib.error.URLError, TimeoutError, ConnectionError, OSError, ValueError) as e:
        reason = getattr(e, "reason", e)
        raise LibraryError(f"The other site could not be reached ({reason}).") from None
    if len(body) > MAX_BODY:
        raise LibraryError(f"{url} answered with more than {MAX_BODY:,} bytes.")
    return body


def api_url(address: str) -> str:
    """The API address of a collection from its page's or API's address."""
    parts = urllib.parse.urlsplit((address or "").strip())
    m = _PATH.search(parts.path) if parts.path else None
    if parts.scheme not in {"http", "https"} or not parts.hostname or not m:
        raise LibraryError(
            "Give the address of a collection on another Broadsheet, such as "
            "https://papers.example.org/collections/12."
        )
    prefix = parts.path[: m.start()]
    return urllib.parse.urlunsplit(
        (parts.scheme, parts.netloc, f"{prefix}/api/v1/collections/{m[1]}", "", "")
    )


def _check_host(url: str) -> None:
    if settings.LIBRARY_PRIVATE_HOSTS:
        return
    host = urllib.parse.urlsplit(url).hostname or ""
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except (OSError, UnicodeError):
        raise LibraryError(f"{host} could not be found.") from None
    for address in addresses:
        if not ipaddress.ip_address(address.split("%")[0]).is_global:
            raise LibraryError(f"{host} is not a public address; only public sites are read.")


def fetch_collection(address: str, max_entries: int) -> tuple[str, str, ParsedLibrary]:
    """(the source key, the collection name to use, the entries)."""
    url = api_url(address)
    _check_host(url)
    body = _get(url)
    try:
        data = json.loads(body)
        papers = data["papers"]
        name = str(data["name"])
        assert isinstance(papers, list)
    except (ValueError, KeyError, TypeError, AssertionError):
        raise LibraryError(f"{url} did not answer as a Broadsheet collection.") from None
    parsed = ParsedLibrary()
    for n, paper in enumerate(papers[:max_entries], start=1):
        if not isinstance(paper, dict):
            parsed.problems.append(f"paper {n}: not an object")
            continue
        arxiv_id, doi, title = (paper.get(k) for k in ("arxivId", "doi", "title"))
        parsed.entries.append(
            LibraryEntry(
                where=f"paper {n}",
                title=" ".join(str(title or "").split()),
                arxiv_id=str(arxiv_id) if arxiv_id else None,
                doi=str(doi) if doi else None,
            )
        )
    host = urllib.parse.urlsplit(url).netloc
    return f"broadsheet:{url}", f"{name[:60]} ({host[:30]})", parsed
