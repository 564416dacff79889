"""What every library format becomes: entries holding the identifiers papers are matched by.

A BibTeX or RIS file, a Zotero library and another Broadsheet's collection each turn their
records into LibraryEntry; matching.py never knows where one came from. Identifiers are read
the way reference managers write them: an arXiv id from an `eprint` field, an arxiv.org URL,
a DOI of the form 10.48550/arXiv.ID or an "arXiv:ID" in a free-text field; a DOI from a DOI
field or a doi.org URL; and the title, compared once normalised.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field

from broadsheet.ingest.normalise import normalise_arxiv_id


class LibraryError(Exception):
    """A library that cannot be imported at all; str() is the message for the member."""


@dataclass
class LibraryEntry:
    where: str  # how the member finds it in their library: "entry 'vaswani17' (line 12)"
    title: str = ""
    arxiv_id: str | None = None
    doi: str | None = None
    added: dt.datetime | None = None  # when it entered the library, when the format says

    @property
    def label(self) -> str:
        return self.title or self.arxiv_id or self.doi or self.where


@dataclass
class ParsedLibrary:
    entries: list[LibraryEntry] = field(default_factory=list)
    # Records that could not be read, each naming the entry or line; the rest are imported.
    problems: list[str] = field(default_factory=list)


# arXiv's DOIs for its papers: 10.48550/arXiv.2401.01234 (registered since 2022).
_ARXIV_DOI = re.compile(r"10\.48550/arxiv\.(.+)", re.IGNORECASE)
_DOI = re.compile(r"(?:https?://(?:dx\.)?doi\.org/|doi:\s*)?(10\.[0-9]{4,9}/\S+)", re.IGNORECASE)
_ARXIV_URL = re.compile(r"https?://(?:www\.|export\.)?arxiv\.org/(?:abs|pdf|html)/\S+", re.I)
# "arXiv:2401.01234", "arXiv 2401.01234v2", "arXiv: hep-th/9901001" in notes, journal fields.
_ARXIV_TEXT = re.compile(
    r"arxiv[:\s]\s*([0-9]{4}\.[0-9]{4,5}(?:v[0-9]+)?|[a-z][a-z-]*(?:\.[A-Z]{2})?/[0-9]{7})",
    re.IGNORECASE,
)


def arxiv_id_in(values: Iterable[str]) -> str | None:
    """The first arXiv id named by a URL, an arXiv DOI or an "arXiv:" mention in `values`."""
    for value in values:
        if not value:
            continue
        for url in _ARXIV_URL.findall(value):
            found, _ = normalise_arxiv_id(url.rstrip(".,;)}"))
            if found:
                return found
        doi = doi_in(value)
        if doi and (m := _ARXIV_DOI.fullmatch(doi)):
            found, _ = normalise_arxiv_id(m[1])
            if found:
                return found
        if m := _ARXIV_TEXT.search(value):
            found, _ = normalise_arxiv_id(m[1])
            if found:
                return found
    return None


def doi_in(value: str) -> str | None:
    """A DOI given bare, as doi:..., or as a doi.org URL; None if there is none."""
    m = _DOI.search((value or "").strip())
    if not m:
        return None
    doi = m[1].rstrip(".,;)}")
    return doi if len(doi) <= 255 else None


def eprint_arxiv_id(eprint: str, archive: str) -> str | None:
    """BibTeX's eprint field, when its archivePrefix/eprinttype is arXiv (or not given)."""
    if archive and archive.strip().lower() != "arxiv":
        return None
    found, _ = normalise_arxiv_id(eprint or "")
    return found


def normal_title(title: str) -> str:
    """A title as compared across sources: accents, case, LaTeX braces and commands,
    punctuation and spacing do not count ("{BERT}: Pre-training" = "BERT: pre-training")."""
    text = re.sub(r"\\[a-zA-Z]+|\\[^a-zA-Z]", "", title or "")  # \emph{x}, \'{e}: the letters
    text = text.replace("{", "").replace("}", "")
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c))
    return " ".join(re.split(r"[^\w]+|_", text.lower())).strip()


def parse_date(value: str | None) -> dt.datetime | None:
    """An ISO-like date or timestamp (BibDesk's "2024-01-02 10:00:00 +0000" too), aware."""
    value = (value or "").strip()
    if not value:
        return None
    value = re.sub(r"\s([+-][0-9]{2}):?([0-9]{2})$", r"\1:\2", value).replace("Z", "+00:00")
    try:
        when = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    if not dt.datetime(1900, 1, 1, tzinfo=dt.UTC) <= when <= dt.datetime.now(dt.UTC):
        return None
    return when
