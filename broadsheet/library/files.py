"""A library file as uploaded or named on the command line: BibTeX or RIS, told apart by the
file name's extension, else by the content."""

from __future__ import annotations

import re
from pathlib import PurePath

from broadsheet.library.bibtex_file import parse_bibtex
from broadsheet.library.entries import LibraryError, ParsedLibrary
from broadsheet.library.ris_file import parse_ris

_RIS_START = re.compile(r"^\ufeff?\s*TY  -", re.MULTILINE)


def text_of(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise LibraryError(
            f"The file is not UTF-8 text (line {line}, byte {e.start}). Export the library "
            "as BibTeX (.bib) or RIS (.ris) with UTF-8 encoding."
        ) from None


def parse_file(filename: str, data: bytes) -> ParsedLibrary:
    text = text_of(data)
    if "\x00" in text:
        raise LibraryError("The file holds NUL characters: it is not a BibTeX or RIS file.")
    suffix = PurePath(filename or "").suffix.lower()
    if suffix == ".ris" or (suffix not in {".bib", ".bibtex"} and _RIS_START.search(text)):
        return parse_ris(text)
    if suffix in {".bib", ".bibtex"} or "@" in text:
        return parse_bibtex(text)
    raise LibraryError(
        "This is neither BibTeX (entries like @article{key, ...}) nor RIS (records from "
        "'TY  - ' to 'ER  - ')."
    )


def source_of_file(filename: str) -> tuple[str, str]:
    """(the source key, the collection name) of a library file: both its base name."""
    name = PurePath((filename or "").replace("\\", "/")).name.strip() or "library"
    name = " ".join(name.split())[:90]
    return f"file:{name}", name
