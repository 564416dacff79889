"""arXiv's OAI-PMH interface, `metadataPrefix=arXiv`: bulk harvests by set, resumable."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from xml.etree.ElementTree import Element

from django.conf import settings

from broadsheet.ingest.arxiv_api import SourceError, parse_xml
from broadsheet.ingest.http import PoliteClient
from broadsheet.ingest.records import PaperRecord, Rejected

NS = {"oai": "http://www.openarchives.org/OAI/2.0/", "arXiv": "http://arxiv.org/OAI/arXiv/"}


class OaiError(SourceError):
    """An OAI-PMH error answer, with its code (badArgument, badResumptionToken, ...)."""

    def __init__(self, code: str, message: str):
        super().__init__(f"OAI-PMH error {code}: {message}")
        self.code = code


@dataclass
class OaiPage:
    records: list[PaperRecord | Rejected] = field(default_factory=list)
    token: str = ""
    newest: dt.date | None = None
    # The resumptionToken's completeListSize and cursor, when the source gives them: how many
    # records the whole harvest has, and how many came before this page (for progress).
    list_size: int | None = None
    cursor: int | None = None


def _t(el: Element | None, path: str) -> str:
    found = el.find(path, NS) if el is not None else None
    return (found.text or "").strip() if found is not None else ""


def _day(text: str) -> dt.datetime | None:
    try:
        return dt.datetime.combine(dt.date.fromisoformat(text[:10]), dt.time(), dt.UTC)
    except ValueError:
        return None


def parse_record(record: Element) -> PaperRecord:
    header = record.find("oai:header", NS)
    identifier = _t(header, "oai:identifier")
    if header is not None and header.get("status") == "deleted":
        arxiv_id = identifier.rsplit(":", 1)[-1]
        return PaperRecord(arxiv_id=arxiv_id, title="", deleted=True, origin=identifier)
    meta = record.find("oai:metadata/arXiv:arXiv", NS)
    if meta is None:
        raise Rejected(f"{identifier or 'record'}: no arXiv metadata")
    authors = []
    for a in meta.findall("arXiv:authors/arXiv:author", NS):
        name = " ".join(p for p in (_t(a, "arXiv:forenames"), _t(a, "arXiv:keyname")) if p)
        suffix = _t(a, "arXiv:suffix")
        authors.append(f"{name} {suffix}" if suffix else name)
    categories = _t(meta, "arXiv:categories").split()
    created = _t(meta, "arXiv:created")
    if created and _day(created) is None:
        raise Rejected(f"{identifier}: unreadable created date {created[:30]!r}")
    return PaperRecord(
        arxiv_id=_t(meta, "arXiv:id"),
        title=_t(meta, "arXiv:title"),
        abstract=_t(meta, "arXiv:abstract"),
        authors=authors,
        categories=categories,
        primary_category=categories[0] if categories else "",
        published_at=_day(created) if created else None,
        updated_at=_day(_t(meta, "arXiv:updated")) if _t(meta, "arXiv:updated") else None,
        comment=_t(meta, "arXiv:comments"),
        journal_ref=_t(meta, "arXiv:journal-ref"),
        doi=(_t(meta, "arXiv:doi").split() or [None])[0],
        origin=identifier,
    )


def parse_page(body: bytes) -> OaiPage:
    root = parse_xml(body, "OAI-PMH response")
    error = root.find("oai:error", NS)
    if error is not None:
        if error.get("code") == "noRecordsMatch":
            return OaiPage()
        raise OaiError(error.get("code", ""), (error.text or "").strip())
    page = OaiPage()
    list_records = root.find("oai:ListRecords", NS)
    if list_records is None:
        raise SourceError("OAI-PMH response without ListRecords")
    # A datestamp past tomorrow (UTC) is a broken record: taken as the newest, it would be
    # where the next harvest starts, and that harvest would find nothing ever again.
    latest = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=1)
    for record in list_records.findall("oai:record", NS):
        stamp = _t(record, "oai:header/oai:datestamp")
        try:
            day = dt.date.fromisoformat(stamp[:10])
        except ValueError:
            day = None
        if day is not None and day <= latest:
            page.newest = max(page.newest or day, day)
        try:
            page.records.append(parse_record(record))
        except Rejected as e:
            page.records.append(e)
    page.token = _t(list_records, "oai:resumptionToken")
    token = list_records.find("oai:resumptionToken", NS)
    if token is not None:
        page.list_size = _count(token.get("completeListSize"))
        page.cursor = _count(token.get("cursor"))
    return page


def _count(text: str | None) -> int | None:
    return int(text) if text and text.isascii() and text.isdigit() else None


def harvest_pages(
    client: PoliteClient, set_spec: str, from_date: dt.date | None, token: str = ""
) -> Iterator[OaiPage]:
    """Pages of a harvest; start from `token` to resume one that was interrupted."""
    while True:
        if token:
            params = {"verb": "ListRecords", "resumptionToken": token}
        else:
            params = {"verb": "ListRecords", "metadataPrefix": "arXiv", "set": set_spec}
            if from_date:
                params["from"] = from_date.isoformat()
        page = parse_page(client.get(settings.ARXIV_OAI_URL, params))
        yield page
        if not page.token:
            return
        token = page.token
