"""RIS libraries (rispy): records from `TY  -` to `ER  -`, each with the line it starts on.

rispy reads records leniently and drops one that never ends without a word; the file is cut
into records here first, so a record that is not closed, or text outside any record, is
reported with its line number, and rispy maps each record's tags to fields.
"""

from __future__ import annotations

import re

import rispy

from broadsheet.library.entries import LibraryEntry, ParsedLibrary, arxiv_id_in, doi_in

_TAG = re.compile(r"^([A-Z][A-Z0-9])  -(?: (.*))?$")
TITLE_KEYS = ("title", "primary_title", "translated_title")
# Fields that may name the arXiv id: links, the DOI, notes, the journal or archive fields.
TEXT_KEYS = ("urls", "doi", "notes", "note", "journal_name", "secondary_title",
             "alternate_title3", "number", "publisher", "file_attachments1", "custom1")  # fmt: skip


def _strings(value) -> list[str]:
    if isinstance(value, list):
        return [str(v) for v in value]
    return [str(value)] if value else []


def entry_of(record: dict, line: int) -> LibraryEntry:
    title = next((str(record[k]) for k in TITLE_KEYS if record.get(k)), "")
    texts = [s for key in TEXT_KEYS for s in _strings(record.get(key))]
    doi = doi_in(str(record.get("doi") or ""))
    if doi is None:
        doi = next((d for u in _strings(record.get("urls")) if "doi.org/" in u
                    if (d := doi_in(u))), None)  # fmt: skip
    return LibraryEntry(
        where=f"record at line {line}" + (f" ({record['id']!r})" if record.get("id") else ""),
        title=" ".join(title.split()),
        arxiv_id=arxiv_id_in(texts),
        doi=doi,
    )


def parse_ris(text: str) -> ParsedLibrary:
    parsed = ParsedLibrary()
    start: int | None = None
    lines: list[str] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.lstrip("\ufeff").rstrip()
        m = _TAG.match(line)
        tag = m[1] if m else None
        if tag == "TY":
            if start is not None:
                parsed.problems.append(f"line {start}: record not closed by 'ER  -' before "
                                       f"the next one at line {number}")  # fmt: skip
            start, lines = number, [line]
        elif start is None:
            if line:
                parsed.problems.append(
                    f"line {number}: {line[:60]!r} is outside a record (RIS records start "
                    "with 'TY  - ' and end with 'ER  - ')"
                )
        elif tag == "ER":
            lines.append("ER  - ")
            try:
                records = rispy.loads("\n".join(lines))
            except Exception as e:  # rispy's own refusals; reported, the rest imported
                parsed.problems.append(f"line {start}: unreadable record ({e})")
            else:
                parsed.entries.extend(entry_of(r, start) for r in records)
            start, lines = None, []
        else:
            lines.append(line)
    if start is not None:
        parsed.problems.append(f"line {start}: record not closed by 'ER  -' at the end of the file")
    return parsed
