"""The values search() takes and returns."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace

from broadsheet.papers.models import Paper

# Why a hit is in the results, as shown to the reader.
TITLE, ABSTRACT, AUTHOR = "title", "abstract", "author"
MEANING, ID, FUZZY = "meaning", "id", "fuzzy"

# The days a filter can name. Beyond them a bound is no bound for any paper, and the day after
# 9999-12-31 (an inclusive `before:`) or a time zone's offset near year 1 overflows datetime.
FIRST_DAY = dt.date(1000, 1, 1)
LAST_DAY = dt.date(9000, 12, 31)


def clamp_day(day: dt.date | None) -> dt.date | None:
    """`day` moved into FIRST_DAY..LAST_DAY (None stays None)."""
    return None if day is None else min(max(day, FIRST_DAY), LAST_DAY)


@dataclass(frozen=True)
class Filters:
    """Restrictions applied to every candidate list. Dates are inclusive, in the site's time
    zone; `category` matches an arXiv category (`cs.CL`) or a whole archive (`cs`); each of
    `authors` must occur in the paper's author list (case-insensitive substring)."""

    after: dt.date | None = None
    before: dt.date | None = None
    category: str | None = None
    authors: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        # Every way in (query syntax, the form, the APIs) ends here: clamp once for all.
        object.__setattr__(self, "after", clamp_day(self.after))
        object.__setattr__(self, "before", clamp_day(self.before))

    def merged(self, other: Filters) -> Filters:
        """These filters narrowed by `other` (query syntax on top of form fields)."""
        dates_after = [d for d in (self.after, other.after) if d]
        dates_before = [d for d in (self.before, other.before) if d]
        return replace(
            self,
            after=max(dates_after, default=None),
            before=min(dates_before, default=None),
            category=other.category or self.category,
            authors=tuple(dict.fromkeys(self.authors + other.authors)),
        )

    def __bool__(self) -> bool:
        return bool(self.after or self.before or self.category or self.authors)


@dataclass
class Hit:
    paper: Paper
    score: float
    title_html: str  # HTML-safe: escaped text with <mark> around matched words
    snippet_html: str
    why: list[str] = field(default_factory=list)
    pinned: bool = False
    authors: str = ""  # the paper's authors as indexed, for the card


@dataclass
class SearchResult:
    query: str  # the query as searched (after cutting to length)
    hits: list[Hit]
    total: int  # an estimate: how many papers match, at least len(hits) + offset
    offset: int = 0
    limit: int = 20
    notices: list[str] = field(default_factory=list)
    corrected: str | None = None  # the spelling-corrected query, when one was used

    @property
    def has_next(self) -> bool:
        return self.offset + len(self.hits) < self.total
