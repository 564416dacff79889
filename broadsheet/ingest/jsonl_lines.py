"""One line of our JSON Lines format (docs/jsonl.md) to a PaperRecord, or a Rejected naming the
line and the reason. `jsonl.read_jsonl_file` runs this in a second process
(`parse_worker.parse_chunk`) for long inputs, so it sits below both of them."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Iterable, Iterator

from broadsheet.ingest.records import PaperRecord, Rejected
from broadsheet.papers.models import Listing

# What a line may hold: not where it came from, nor whether it was checked (we decide that).
_FIELDS = {
    f.name: f for f in dataclasses.fields(PaperRecord) if f.name not in ("origin", "validated")
}
_DATETIMES = {"published_at", "updated_at", "listed_at"}
_STRINGS = {
    "title", "abstract", "arxiv_id", "doi", "primary_category", "comment", "journal_ref",
    "abs_url", "pdf_url", "project_url", "github_repo", "listing_source", "slug", "thumbnail",
}  # fmt: skip
_INTS = {"arxiv_version", "author_count", "source_upvotes", "github_stars"}
# What each field must be, looked up once per field (this runs for every line of an import).
_KIND = {
    **dict.fromkeys(_FIELDS, "any"),
    **dict.fromkeys(_STRINGS, "string"),
    **dict.fromkeys(_INTS, "integer"),
    **dict.fromkeys(("authors", "categories"), "strings"),
    **dict.fromkeys(_DATETIMES, "datetime"),
    "hidden": "bool",
    "listing_day": "date",
}
MAX_LINE = 1_000_000
LISTING_SOURCES = frozenset(Listing.Source.values)


def record_from_json(data, origin: str) -> PaperRecord:
    if not isinstance(data, dict):
        raise Rejected(f"{origin}: expected a JSON object")
    if not _FIELDS.keys() >= data.keys():
        unknown = set(data) - set(_FIELDS)
        raise Rejected(f"{origin}: unknown field(s) {', '.join(sorted(unknown))[:200]}")
    values = {}
    for name, value in data.items():
        if value is None:
            continue
        kind = _KIND[name]
        if kind == "string":
            if not isinstance(value, str):
                raise Rejected(f"{origin}: {name} must be a string")
        elif kind == "strings":
            if not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
                raise Rejected(f"{origin}: {name} must be a list of strings")
        elif kind == "integer":
            if not isinstance(value, int) or isinstance(value, bool):
                raise Rejected(f"{origin}: {name} must be an integer")
        elif kind == "bool":
            if not isinstance(value, bool):
                raise Rejected(f"{origin}: hidden must be true or false")
        elif kind in ("datetime", "date"):
            try:
                if kind == "datetime":
                    value = dt.datetime.fromisoformat(value)
                else:
                    value = dt.date.fromisoformat(value)
            except (TypeError, ValueError):
                raise Rejected(
                    f"{origin}: {name} is not an ISO 8601 date: {str(value)[:40]!r}"
                ) from None
        values[name] = value
    if "title" not in values:
        raise Rejected(f"{origin}: no title")
    if values.get("listing_source", "import") not in LISTING_SOURCES:
        raise Rejected(f"{origin}: unknown listing_source {values['listing_source'][:30]!r}")
    return PaperRecord(**values, origin=origin)


def read_jsonl(
    lines: Iterable[str | bytes], name: str = "", first_line: int = 1
) -> Iterator[PaperRecord | Rejected]:
    where = f"{name} " if name else ""
    for number, line in enumerate(lines, first_line):
        origin = f"{where}line {number}"
        if isinstance(line, bytes):
            try:
                line = line.decode("utf-8")
            except UnicodeDecodeError:
                yield Rejected(f"{origin}: not UTF-8")
                continue
        if not line.strip():
            continue
        if len(line) > MAX_LINE:
            yield Rejected(f"{origin}: longer than {MAX_LINE} characters")
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as e:
            yield Rejected(f"{origin}: invalid JSON ({e.msg}, column {e.colno})")
            continue
        except ValueError:  # a number of more than 4300 digits (Python's limit)
            yield Rejected(f"{origin}: invalid JSON (a number too long to read)")
            continue
        except RecursionError:  # [[[[...]]]] nested deeper than Python's stack allows
            yield Rejected(f"{origin}: invalid JSON (nested too deeply)")
            continue
        try:
            rec = record_from_json(data, origin)
        except Rejected as e:
            yield e
            continue
        rec.listing_source = data.get("listing_source") or Listing.Source.IMPORT
        yield rec
