"""The normalised paper record every source yields and `upsert` stores.

Sources turn their format into PaperRecord (or raise Rejected with a reason); nothing past
this point knows where a record came from. validate() is the one check every record of every
source passes (upsert calls it): text the database can store (UTF-8, no lone surrogates, no
NUL), lengths and integer ranges that fit the columns, dates and listing days within a window.
A record that fails is rejected alone, with the reason; the rest of its batch is stored.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from dataclasses import dataclass, field

from django.utils import timezone

from broadsheet.ingest.normalise import clean_text, find_links, normalise_arxiv_id
from broadsheet.papers.models import Listing

# Bounds on what we store: a longer field is a broken or hostile record, not a paper.
MAX_TITLE = 1000
MAX_ABSTRACT = 20_000
MAX_AUTHORS = 2000
MAX_AUTHOR_NAME = 300
MAX_CATEGORY = 32
CATEGORY = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*", re.ASCII)
MAX_URL = 500
MAX_COMMENT = 5000
MAX_JOURNAL_REF = 1000
MAX_CATEGORIES = 100
MAX_ARXIV_ID = 32  # the column's length; an old-style archive name is not bounded otherwise
# Integer ranges the columns hold (PostgreSQL's smallint and integer; SQLite's 64 bits and
# the sqlite3 driver are wider): a bigger figure is refused here, not by the database.
MAX_ARXIV_VERSION = 32767
MAX_COUNT = 2_147_483_647
# Dates a paper may carry: from EARLIEST_DATE to a little past now (clocks and time zones
# differ). Listing days: from arXiv's first year to tomorrow in the site's time zone; a far
# future day would otherwise become the home page.
EARLIEST_DATE = dt.datetime(1800, 1, 1, tzinfo=dt.UTC)
FUTURE_SLACK = dt.timedelta(days=2)
EARLIEST_LISTING_DAY = dt.date(1991, 1, 1)
LISTING_DAYS_AHEAD = 1
LISTING_SOURCES = frozenset(Listing.Source.values)
_TEXT_FIELDS = (
    "title", "abstract", "arxiv_id", "doi", "slug", "primary_category", "comment",
    "journal_ref", "abs_url", "pdf_url", "project_url", "github_repo", "listing_source",
)  # fmt: skip
_DOI = re.compile(r"10\.[0-9]{4,9}/\S+")
_HTTP_URL = re.compile(r"https?://[^\s/]+")
_SLUG = re.compile(r"[-a-z0-9_]{1,120}")


class Rejected(ValueError):
    """A record that cannot be stored, with the reason (logged and counted, never fatal)."""


@dataclass
class PaperRecord:
    title: str
    abstract: str = ""
    arxiv_id: str | None = None
    arxiv_version: int | None = None
    doi: str | None = None
    authors: list[str] = field(default_factory=list)
    author_count: int | None = None
    primary_category: str = ""
    categories: list[str] = field(default_factory=list)
    published_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None
    comment: str = ""
    journal_ref: str = ""
    abs_url: str = ""
    pdf_url: str = ""
    project_url: str = ""
    github_repo: str = ""
    # What Hugging Face tells besides: its thumbnail image's URL and the repository's stars.
    thumbnail: str = ""
    github_stars: int | None = None
    # Votes the source reports (Hugging Face); None when the source has no such figure.
    source_upvotes: int | None = None
    # A feed day to list the paper on (Hugging Face daily papers), with its listing time.
    listing_day: dt.date | None = None
    listed_at: dt.datetime | None = None
    listing_source: str = "hf"
    # Hide the paper (an OAI-PMH deleted record, or a hidden paper in an export).
    hidden: bool = False
    # An upstream deletion (OAI-PMH): hide the paper if we have it, store nothing otherwise.
    deleted: bool = False
    # For papers with no external id (the sample listing): their slug is their identity.
    slug: str | None = None
    # Where the record came from ("line 12", an OAI identifier), for error messages only.
    origin: str = field(default="", compare=False)
    # Set by validate(): a record checked in a parsing process is not checked again.
    validated: bool = field(default=False, compare=False, repr=False)

    @property
    def key(self) -> str:
        if self.arxiv_id:
            return f"arXiv:{self.arxiv_id}"
        return f"doi:{self.doi}" if self.doi else f"slug:{self.slug}"

    def describe(self) -> str:
        where = f"{self.origin}: " if self.origin else ""
        ident = self.arxiv_id or self.doi or self.slug or repr(str(self.title or "")[:60])
        return f"{where}{ident}"

    def to_json(self) -> dict:
        out = dataclasses.asdict(self)
        del out["origin"], out["deleted"], out["validated"]
        for name in ("published_at", "updated_at", "listed_at", "listing_day"):
            if out[name] is not None:
                out[name] = out[name].isoformat()
        return out


def _aware(value: dt.datetime | None, name: str, latest: dt.datetime) -> dt.datetime | None:
    """A date and time in UTC, within EARLIEST_DATE to `latest`."""
    if value is None:
        return None
    if not isinstance(value, dt.datetime):
        raise Rejected(f"{name} is not a date and time")
    if value.tzinfo is None:
        raise Rejected(f"{name} has no time zone")
    try:
        value = value.astimezone(dt.UTC)
    except OverflowError:  # 9999-12-31T23:59:59-14:00 is past the last datetime in UTC
        raise Rejected(f"{name} is out of range") from None
    if not EARLIEST_DATE <= value <= latest:
        raise Rejected(
            f"{name} {value:%Y-%m-%d} is not between {EARLIEST_DATE:%Y-%m-%d} and {latest:%Y-%m-%d}"
        )
    return value


def _check_int(value: int | None, name: str, low: int, high: int) -> None:
    if value is None:
        return
    if type(value) is not int:  # bool is an int too, and not a count
        raise Rejected(f"{name} is not an integer")
    if value < low == 0:
        raise Rejected(f"negative {name}")
    if not low <= value <= high:
        # The value is not shown: a huge one cannot even be turned into text.
        raise Rejected(f"{name} is out of range ({low} to {high})")


def _check_text(rec: PaperRecord) -> None:
    """Every text field is text the database stores: UTF-8 (no lone surrogates), no NUL."""
    for name in ("authors", "categories"):
        if not isinstance(getattr(rec, name), list):
            raise Rejected(f"{name} is not a list")
    try:
        # One scan of all the text (the common case: clean), field by field only to say
        # which one is not. The fields are spelled out: this runs for every record.
        r = rec
        text = "\n".join((
            r.title or "", r.abstract or "", r.arxiv_id or "", r.doi or "", r.slug or "",
            r.primary_category or "", r.comment or "", r.journal_ref or "", r.abs_url or "",
            r.pdf_url or "", r.project_url or "", r.github_repo or "", r.listing_source or "",
            *r.authors, *r.categories,
        ))  # fmt: skip
        if "\x00" not in text and (text.isascii() or _utf8(text)):
            return
    except TypeError:
        pass
    for name in _TEXT_FIELDS + ("authors", "categories"):
        value = getattr(rec, name)
        for item in value if isinstance(value, list) else [value or ""]:
            if not isinstance(item, str):
                raise Rejected(f"{name} is not text")
            if "\x00" in item:
                raise Rejected(f"{name} holds a NUL character")
            if not _utf8(item):
                raise Rejected(f"{name} holds a lone surrogate (not valid UTF-8)")


def _utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _check_listing(rec: PaperRecord, now: dt.datetime) -> None:
    if rec.listing_source not in LISTING_SOURCES:
        raise Rejected(f"unknown listing source {rec.listing_source[:30]!r}")
    day = rec.listing_day
    if day is None:
        return
    if not isinstance(day, dt.date) or isinstance(day, dt.datetime):
        raise Rejected("listing day is not a date")
    latest = timezone.localdate(now) + dt.timedelta(days=LISTING_DAYS_AHEAD)
    if not EARLIEST_LISTING_DAY <= day <= latest:
        raise Rejected(f"listing day {day} is not between {EARLIEST_LISTING_DAY} and {latest}")


def _url(value: str, name: str) -> str:
    value = (value or "").strip()
    if not value:
        return ""
    if len(value) > MAX_URL:
        raise Rejected(f"{name} longer than {MAX_URL} characters")
    if not _HTTP_URL.match(value):
        raise Rejected(f"{name} is not an http(s) URL: {value[:80]!r}")
    return value


def validate(rec: PaperRecord) -> PaperRecord:
    """Normalise a record in place and check every field; raise Rejected with the reason.

    Whatever a source put in a field (the wrong type included) ends here as Rejected, never
    as an error from the database."""
    if rec.validated:
        return rec
    _check_text(rec)
    for name in ("hidden", "deleted"):
        if type(getattr(rec, name)) is not bool:
            raise Rejected(f"{name} is not true or false")
    rec.title = clean_text(rec.title)
    rec.abstract = clean_text(rec.abstract)
    if rec.deleted:
        arxiv_id, _ = normalise_arxiv_id(rec.arxiv_id or "")
        if arxiv_id is None:
            raise Rejected(f"deleted record with invalid arXiv id {str(rec.arxiv_id)[:60]!r}")
        rec.arxiv_id = arxiv_id
        rec.validated = True
        return rec
    if not rec.title:
        raise Rejected("no title")
    if len(rec.title) > MAX_TITLE:
        raise Rejected(f"title longer than {MAX_TITLE} characters")
    if len(rec.abstract) > MAX_ABSTRACT:
        raise Rejected(f"abstract longer than {MAX_ABSTRACT} characters")
    if rec.arxiv_id:
        arxiv_id, version = normalise_arxiv_id(rec.arxiv_id)
        if arxiv_id is None or len(arxiv_id) > MAX_ARXIV_ID:
            raise Rejected(f"invalid arXiv id {rec.arxiv_id[:60]!r}")
        rec.arxiv_id = arxiv_id
        rec.arxiv_version = rec.arxiv_version or version
    else:
        rec.arxiv_id = None
    _check_int(rec.arxiv_version, "arXiv version", 1, MAX_ARXIV_VERSION)
    if rec.doi:
        rec.doi = rec.doi.strip()
        if len(rec.doi) > 255 or not _DOI.fullmatch(rec.doi):
            raise Rejected(f"invalid DOI {rec.doi[:60]!r}")
    else:
        rec.doi = None
    if rec.slug is not None:
        rec.slug = rec.slug.strip() or None
        if rec.slug and not _SLUG.fullmatch(rec.slug):
            raise Rejected(f"invalid slug {rec.slug[:60]!r}")
    if not rec.arxiv_id and not rec.doi and not rec.slug:
        raise Rejected("no arXiv id, DOI or slug")
    rec.authors = [name for name in map(clean_text, rec.authors) if name]
    if len(rec.authors) > MAX_AUTHORS:
        raise Rejected(f"more than {MAX_AUTHORS} authors")
    if rec.authors and max(map(len, rec.authors)) > MAX_AUTHOR_NAME:
        raise Rejected(f"an author name longer than {MAX_AUTHOR_NAME} characters")
    rec.categories = list(dict.fromkeys(c.strip() for c in rec.categories if c and c.strip()))
    rec.primary_category = (rec.primary_category or "").strip() or (
        rec.categories[0] if rec.categories else ""
    )
    if rec.primary_category and rec.primary_category not in rec.categories:
        rec.categories.insert(0, rec.primary_category)
    if len(rec.categories) > MAX_CATEGORIES:
        raise Rejected(f"more than {MAX_CATEGORIES} categories")
    if rec.categories and max(map(len, rec.categories)) > MAX_CATEGORY:
        raise Rejected(f"a category longer than {MAX_CATEGORY} characters")
    # Categories are names such as cs.LG, hep-th or cond-mat.mes-hall: letters, digits and
    # . - _ only, so no string can pose as a category in pages, filters or BibTeX.
    if bad := next((c for c in rec.categories if not CATEGORY.fullmatch(c)), None):
        raise Rejected(f"not a category name: {bad[:40]!r}")
    rec.comment = clean_text(rec.comment)
    rec.journal_ref = clean_text(rec.journal_ref)
    if len(rec.comment) > MAX_COMMENT:
        raise Rejected(f"comment longer than {MAX_COMMENT} characters")
    if len(rec.journal_ref) > MAX_JOURNAL_REF:
        raise Rejected(f"journal ref longer than {MAX_JOURNAL_REF} characters")
    now = timezone.now()
    rec.published_at = _aware(rec.published_at, "published date", now + FUTURE_SLACK)
    rec.updated_at = _aware(rec.updated_at, "updated date", now + FUTURE_SLACK)
    rec.listed_at = _aware(rec.listed_at, "listing time", now + FUTURE_SLACK)
    _check_listing(rec, now)
    if rec.arxiv_id:
        rec.abs_url = rec.abs_url or f"https://arxiv.org/abs/{rec.arxiv_id}"
        rec.pdf_url = rec.pdf_url or f"https://arxiv.org/pdf/{rec.arxiv_id}"
    if not rec.github_repo or not rec.project_url:
        github, project = find_links(f"{rec.comment} {rec.abstract}")
        rec.github_repo = rec.github_repo or github
        rec.project_url = rec.project_url or project
    for name in ("abs_url", "pdf_url", "project_url", "github_repo", "thumbnail"):
        setattr(rec, name, _url(getattr(rec, name), name))
    _check_int(rec.author_count, "author count", 0, MAX_COUNT)
    _check_int(rec.source_upvotes, "upvote count", 0, MAX_COUNT)
    _check_int(rec.github_stars, "GitHub stars", 0, MAX_COUNT)
    rec.validated = True
    return rec


def checked(item: PaperRecord | Rejected) -> PaperRecord | Rejected:
    """A source's item validated, or Rejected with the reason prefixed by where it came from."""
    if isinstance(item, Rejected):
        return item
    try:
        return validate(item)
    except Rejected as e:
        return Rejected(f"{item.describe()}: {e}")
    except (TypeError, ValueError, AttributeError, OverflowError, RecursionError) as e:
        # A value of a kind validate() does not expect: refused like any bad value, so that
        # one record never stops a batch.
        return Rejected(f"{item.describe()}: unusable record ({type(e).__name__})")
