"""The normalised paper record every source yields and `upsert` stores.

Sources turn their format into PaperRecord (or raise Rejected with a reason); nothing past
this point knows where a record came from.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from dataclasses import dataclass, field

from broadsheet.ingest.normalise import clean_text, find_links, normalise_arxiv_id

# Bounds on what we store: a longer field is a broken or hostile record, not a paper.
MAX_TITLE = 1000
MAX_ABSTRACT = 20_000
MAX_AUTHORS = 2000
MAX_AUTHOR_NAME = 300
MAX_CATEGORY = 32
MAX_URL = 500
MAX_COMMENT = 5000
MAX_JOURNAL_REF = 1000
_DOI = re.compile(r"10\.\d{4,9}/\S+")
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
        ident = self.arxiv_id or self.doi or self.slug or repr((self.title or "")[:60])
        return f"{where}{ident}"

    def to_json(self) -> dict:
        out = dataclasses.asdict(self)
        del out["origin"], out["deleted"], out["validated"]
        for name in ("published_at", "updated_at", "listed_at", "listing_day"):
            if out[name] is not None:
                out[name] = out[name].isoformat()
        return out


def _aware(value: dt.datetime | None, name: str) -> dt.datetime | None:
    if value is None:
        return None
    if value.tzinfo is None:
        raise Rejected(f"{name} has no time zone")
    return value.astimezone(dt.UTC)


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
    """Normalise a record in place and check it; raise Rejected with the reason."""
    if rec.validated:
        return rec
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
        if arxiv_id is None:
            raise Rejected(f"invalid arXiv id {rec.arxiv_id[:60]!r}")
        rec.arxiv_id = arxiv_id
        rec.arxiv_version = rec.arxiv_version or version
    else:
        rec.arxiv_id = None
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
    if rec.categories and max(map(len, rec.categories)) > MAX_CATEGORY:
        raise Rejected(f"a category longer than {MAX_CATEGORY} characters")
    rec.comment = clean_text(rec.comment)
    rec.journal_ref = clean_text(rec.journal_ref)
    if len(rec.comment) > MAX_COMMENT:
        raise Rejected(f"comment longer than {MAX_COMMENT} characters")
    if len(rec.journal_ref) > MAX_JOURNAL_REF:
        raise Rejected(f"journal ref longer than {MAX_JOURNAL_REF} characters")
    rec.published_at = _aware(rec.published_at, "published date")
    rec.updated_at = _aware(rec.updated_at, "updated date")
    rec.listed_at = _aware(rec.listed_at, "listing time")
    if rec.arxiv_id:
        rec.abs_url = rec.abs_url or f"https://arxiv.org/abs/{rec.arxiv_id}"
        rec.pdf_url = rec.pdf_url or f"https://arxiv.org/pdf/{rec.arxiv_id}"
    if not rec.github_repo or not rec.project_url:
        github, project = find_links(f"{rec.comment} {rec.abstract}")
        rec.github_repo = rec.github_repo or github
        rec.project_url = rec.project_url or project
    for name in ("abs_url", "pdf_url", "project_url", "github_repo", "thumbnail"):
        setattr(rec, name, _url(getattr(rec, name), name))
    if rec.source_upvotes is not None and rec.source_upvotes < 0:
        raise Rejected("negative upvote count")
    if rec.github_stars is not None and rec.github_stars < 0:
        raise Rejected("negative GitHub stars")
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
