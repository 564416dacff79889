"""arXiv's query API (Atom feeds): search pages, and single papers for submission."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from xml.etree.ElementTree import Element

from defusedxml import ElementTree
from defusedxml.common import DefusedXmlException
from django.conf import settings

from broadsheet.ingest.http import PoliteClient
from broadsheet.ingest.records import PaperRecord, Rejected

log = logging.getLogger("broadsheet.ingest")

NS = {
    "atom": "http://www.w3.org/2005/Atom",
    "arxiv": "http://arxiv.org/schemas/atom",
    "opensearch": "http://a9.com/-/spec/opensearch/1.1/",
}


class SourceError(Exception):
    """The source answered, but not with what we asked for (arXiv's error feed, bad XML)."""


@dataclass
class Page:
    records: list[PaperRecord | Rejected] = field(default_factory=list)
    total: int | None = None


def _text(el: Element | None, path: str) -> str:
    found = el.find(path, NS) if el is not None else None
    return (found.text or "") if found is not None else ""


def _date(text: str) -> dt.datetime | None:
    if not text:
        return None
    try:
        return dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None


def parse_entry(entry: Element) -> PaperRecord:
    # No abs/pdf links from the feed: they name a version, and a paper row follows the latest
    # version; validate() gives every arXiv paper versionless ones, as every other source gets.
    ident = _text(entry, "atom:id").strip()
    arxiv_id = ident.rsplit("/abs/", 1)[-1] if "/abs/" in ident else ident
    primary = entry.find("arxiv:primary_category", NS)
    published = _text(entry, "atom:published")
    if not arxiv_id:
        raise Rejected("entry without an id")
    if published and _date(published) is None:
        raise Rejected(f"{arxiv_id}: unreadable published date {published[:40]!r}")
    return PaperRecord(
        arxiv_id=arxiv_id,
        title=_text(entry, "atom:title"),
        abstract=_text(entry, "atom:summary"),
        authors=[_text(a, "atom:name") for a in entry.findall("atom:author", NS)],
        primary_category=primary.get("term", "") if primary is not None else "",
        categories=[c.get("term", "") for c in entry.findall("atom:category", NS)],
        published_at=_date(published),
        updated_at=_date(_text(entry, "atom:updated")),
        comment=_text(entry, "arxiv:comment"),
        journal_ref=_text(entry, "arxiv:journal_ref"),
        doi=_text(entry, "arxiv:doi").strip() or None,
        origin=arxiv_id,
    )


def parse_xml(body: bytes, what: str) -> Element:
    """A source's XML, with DTDs (so entity expansion and external entities) refused."""
    try:
        return ElementTree.fromstring(body, forbid_dtd=True)
    except (ElementTree.ParseError, DefusedXmlException) as e:
        raise SourceError(f"unreadable {what}: {e}") from None


def parse_feed(body: bytes) -> Page:
    root = parse_xml(body, "Atom feed")
    entries = root.findall("atom:entry", NS)
    # arXiv reports a bad query as a feed with one entry titled "Error".
    if len(entries) == 1 and _text(entries[0], "atom:title").strip() == "Error":
        raise SourceError(f"arXiv API error: {_text(entries[0], 'atom:summary').strip()}")
    total_text = _text(root, "opensearch:totalResults").strip()
    page = Page(total=int(total_text) if total_text.isascii() and total_text.isdigit() else None)
    for entry in entries:
        try:
            page.records.append(parse_entry(entry))
        except Rejected as e:
            page.records.append(e)
    return page


def search_pages(
    client: PoliteClient,
    query: str,
    page_size: int = 100,
    max_results: int | None = None,
    empty_retries: int = 3,
) -> Iterator[Page]:
    """Pages of a search, newest submissions first. arXiv sometimes answers a page with no
    entries although more exist; such a page is asked for again, a bounded number of times."""
    start = 0
    while max_results is None or start < max_results:
        size = page_size if max_results is None else min(page_size, max_results - start)
        params = {
            "search_query": query,
            "start": start,
            "max_results": size,
            "sortBy": "submittedDate",
            "sortOrder": "descending",
        }
        for attempt in range(empty_retries + 1):
            page = parse_feed(client.get(settings.ARXIV_API_URL, params))
            if page.records or (page.total is not None and start >= page.total):
                break
            log.warning("arXiv returned an empty page at %d (try %d)", start, attempt + 1)
        if not page.records:
            return
        yield page
        start += len(page.records)
        if page.total is not None and start >= page.total:
            return


def fetch_one(arxiv_id: str, timeout: float = 10.0) -> PaperRecord | None:
    """One paper by id, for a member's submission: quick, no retries.

    None if arXiv has no such paper."""
    client = PoliteClient(min_interval=0, retries=0, timeout=timeout)
    page = parse_feed(client.get(settings.ARXIV_API_URL, {"id_list": arxiv_id, "max_results": 1}))
    for rec in page.records:
        if isinstance(rec, PaperRecord) and rec.title.strip():
            return rec
    return None
