"""BibTeX libraries (bibtexparser 2): every entry, with the line it starts on."""

from __future__ import annotations

import logging

import bibtexparser
from bibtexparser import middlewares
from bibtexparser.model import DuplicateBlockKeyBlock, DuplicateFieldKeyBlock, Entry

from broadsheet.library.entries import (
    LibraryEntry,
    LibraryError,
    ParsedLibrary,
    arxiv_id_in,
    doi_in,
    eprint_arxiv_id,
    parse_date,
)

# Where reference managers keep when an entry was added: JabRef, BibDesk, BibSonomy, Zotero's
# Better BibTeX.
ADDED_FIELDS = ("timestamp", "date-added", "added-at", "dateadded", "creationdate")
# Free-text fields that may hold "arXiv:ID" or an arXiv URL.
TEXT_FIELDS = ("url", "doi", "journal", "note", "howpublished", "booktitle", "publisher",
               "eprint", "pdf", "file")  # fmt: skip


def _fields(entry: Entry) -> dict[str, str]:
    fields: dict[str, str] = {}
    for f in entry.fields:
        fields.setdefault(f.key.lower(), str(f.value))  # a repeated field: the first wins
    return fields


def entry_of(entry: Entry) -> LibraryEntry:
    fields = _fields(entry)
    archive = fields.get("archiveprefix") or fields.get("eprinttype") or ""
    arxiv_id = eprint_arxiv_id(fields.get("eprint", ""), archive) or arxiv_id_in(
        fields.get(name, "") for name in TEXT_FIELDS
    )
    url = fields.get("url", "")
    doi = doi_in(fields.get("doi", "")) or (doi_in(url) if "doi.org/" in url else None)
    added = next((d for name in ADDED_FIELDS if (d := parse_date(fields.get(name)))), None)
    return LibraryEntry(
        where=f"entry '{entry.key}' (line {entry.start_line + 1})",
        title=" ".join(fields.get("title", "").replace("{", "").replace("}", "").split()),
        arxiv_id=arxiv_id,
        doi=doi,
        added=added,
    )


def parse_bibtex(text: str) -> ParsedLibrary:
    # bibtexparser logs every block it cannot read; the problems are reported to the member.
    logger = logging.getLogger("bibtexparser")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        library = bibtexparser.parse_string(
            text, append_middleware=[middlewares.LatexDecodingMiddleware()]
        )
    except Exception as e:  # the parser's own failure on odd input: the member's file
        raise LibraryError(f"The BibTeX file could not be read ({type(e).__name__}).") from None
    finally:
        logger.setLevel(level)
    parsed = ParsedLibrary()
    for block in library.blocks:
        if isinstance(block, DuplicateBlockKeyBlock | DuplicateFieldKeyBlock):
            block = block.ignore_error_block  # a repeated key is still an entry
        if isinstance(block, Entry):
            parsed.entries.append(entry_of(block))
    for block in library.failed_blocks:
        if isinstance(block, DuplicateBlockKeyBlock | DuplicateFieldKeyBlock):
            continue
        first = (block.raw or "").strip().splitlines()[:1]
        parsed.problems.append(
            f"line {block.start_line + 1}: cannot read "
            f"{first[0][:80]!r}" + (" (an unclosed brace or quote?)" if first else "")
        )
    return parsed
