"""Our query language, parsed into a small tree that each backend renders with every user
token escaped or built into a query object: no user text ever reaches tantivy's query parser
or PostgreSQL's to_tsquery unquoted.

    sparse autoencoders          both words (anywhere: title, abstract, authors)
    "causal discovery"           the phrase
    -diffusion  NOT diffusion    without the word
    video OR image               either (binds tighter than the implicit AND)
    title:causal  title:"de finetti"
    author:lovelace  cat:cs.LG  cat:cs  after:2024-01-01  before:2025  (dates inclusive)

Anything else is words. Parsing never fails: a stray quote runs to the end, unknown
`field:` prefixes are words, a token with no letter or digit is dropped, a bad date is
ignored with a notice, a date past the calendar's ends is moved inside it.

The cost of one query is bounded: at most MAX_TERMS words or phrases, MAX_OR_BRANCHES
alternatives in one OR chain and MAX_AUTHORS `author:` filters (each is a substring scan of
author lists). Past a bound the rest is dropped and `Query.limits` says so; the search page
shows it as a notice, and the APIs refuse the query with a 400 (`cost_error`).
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass, field

from broadsheet.search.results import Filters, clamp_day

MAX_QUERY = 250  # characters of a query; the API schemas, feeds and saved searches use it too
MAX_TERMS = 32  # more words than this add nothing to ranking and only cost time
MAX_OR_BRANCHES = 8  # alternatives of one OR chain
MAX_AUTHORS = 3  # author: filters; each one scans the author lists of every candidate

_TOKEN = re.compile(
    r"""
    \s*
    (?P<neg>-(?=\S))?
    (?:(?P<field>[A-Za-z]+):(?=\S))?
    (?:"(?P<quoted>[^"]*)(?:"|$) | (?P<bare>[^\s"]+))
    """,
    re.VERBOSE,
)
FIELDS = {
    "title": "title",
    "ti": "title",
    "author": "author",
    "authors": "author",
    "au": "author",
    "cat": "cat",
    "category": "cat",
    "after": "after",
    "since": "after",
    "from": "after",
    "before": "before",
    "until": "before",
    "to": "before",
}
_CATEGORY = re.compile(r"[A-Za-z][A-Za-z0-9.\-]{0,31}")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_WORD = re.compile(r"[^\W_]+")  # a word as words_of() splits them


@dataclass(frozen=True)
class Term:
    """A word or a quoted phrase, optionally restricted to the title."""

    text: str
    phrase: bool = False
    title_only: bool = False

    @property
    def words(self) -> list[str]:
        return words_of(self.text)


@dataclass
class Query:
    # AND of clauses; each clause is an OR of one or more terms.
    clauses: list[list[Term]] = field(default_factory=list)
    excluded: list[Term] = field(default_factory=list)
    filters: Filters = field(default_factory=Filters)
    notices: list[str] = field(default_factory=list)
    text: str = ""  # the query as searched, after cleaning and cutting
    limits: list[str] = field(default_factory=list)  # the bounds it went past (also notices)

    @property
    def positive(self) -> bool:
        return bool(self.clauses)

    @property
    def strict(self) -> list[list[Term]]:
        """Clauses every hit must satisfy, semantic ones too: phrases and title: terms."""
        return [c for c in self.clauses if all(t.phrase or t.title_only for t in c)]

    @property
    def plain_words(self) -> list[str]:
        """Unquoted words, the ones a spelling fallback may correct."""
        return [w for c in self.clauses for t in c if not t.phrase for w in t.words]

    @property
    def highlight_words(self) -> list[str]:
        return [w for c in self.clauses for t in c for w in t.words]

    @property
    def meaning_text(self) -> str:
        """What the semantic list embeds: the wanted words, in order, without syntax."""
        return " ".join(t.text for c in self.clauses for t in c)

    def with_words_replaced(self, replacements: dict[str, str]) -> Query:
        """A copy with unquoted words swapped (spelling correction)."""

        def swap(t: Term) -> Term:
            if t.phrase:
                return t
            # The other words stay as typed: "LLMs" is the plural of an acronym, "llms" not.
            text = _WORD.sub(lambda m: replacements.get(m[0].lower(), m[0]), t.text)
            return Term(text, phrase=False, title_only=t.title_only)

        return Query(
            clauses=[[swap(t) for t in c] for c in self.clauses],
            excluded=self.excluded,
            filters=self.filters,
            notices=self.notices,
            text=self.text,
            limits=self.limits,
        )


def words_of(text: str) -> list[str]:
    """Lower-case runs of letters and digits: how both engines split text, roughly."""
    return [w for w in re.split(r"[^\w]+|_", text.lower()) if w]


def _date(value: str, end: bool) -> dt.date | None:
    """YYYY, YYYY-MM or YYYY-MM-DD; `end` picks the last day of a year or month."""
    try:
        parts = [int(p) for p in value.split("-")]
        if len(parts) == 1:
            return clamp_day(dt.date(parts[0], 12, 31) if end else dt.date(parts[0], 1, 1))
        if len(parts) == 2:
            last = calendar.monthrange(parts[0], parts[1])[1]
            return clamp_day(dt.date(parts[0], parts[1], last if end else 1))
        if len(parts) == 3:
            return clamp_day(dt.date(*parts))
    except (ValueError, OverflowError):
        pass
    return None


def clean(text: str) -> tuple[str, list[str]]:
    """Strip control characters and cut to MAX_QUERY characters (with a notice)."""
    notices = []
    text = _CONTROL.sub(" ", text or "").strip()
    if len(text) > MAX_QUERY:
        text = text[:MAX_QUERY]
        notices.append(f"Query cut to {MAX_QUERY} characters.")
    return text, notices


def parse(text: str) -> Query:
    text, notices = clean(text)
    q = Query(notices=notices, text=text)
    after = before = None
    category = None
    authors: list[str] = []
    pending_or = False
    negate_next = False
    n_terms = 0
    over: set[str] = set()  # the bounds passed, by name, each told once
    for m in _TOKEN.finditer(text):
        neg = bool(m["neg"]) or negate_next
        negate_next = False
        name = FIELDS.get((m["field"] or "").lower())
        quoted = m["quoted"]
        value = quoted if quoted is not None else m["bare"]
        if m["field"] and name is None:
            value = f"{m['field']} {value}"  # unknown field: just words
        if quoted is None and name is None and not m["field"] and not m["neg"]:
            if value == "OR" or value == "|":
                pending_or = bool(q.clauses)
                continue
            if value == "AND" or value == "&&":
                continue
            if value == "NOT":
                negate_next = True
                continue
        value = " ".join(value.split())
        if name in ("after", "before"):
            day = _date(value, end=name == "before")
            if day is None:
                q.notices.append(f"Ignored {name}:{value[:20]} (not a date like 2024-05-31).")
            elif name == "after":
                after = max(after, day) if after else day
            else:
                before = min(before, day) if before else day
            continue
        if name == "cat":
            if _CATEGORY.fullmatch(value):
                category = value
            else:
                q.notices.append(f"Ignored cat:{value[:20]} (not an arXiv category).")
            continue
        if name == "author":
            if len(authors) >= MAX_AUTHORS:
                over.add("authors")
            elif words_of(value):
                authors.append(value[:100])
            continue
        if not words_of(value):
            pending_or = False
            continue  # nothing searchable: punctuation, emoji, a lone quote
        if n_terms >= MAX_TERMS:
            over.add("terms")
            continue
        term = Term(value, phrase=quoted is not None and len(words_of(value)) > 1,
                    title_only=name == "title")  # fmt: skip
        if neg:
            q.excluded.append(term)
            pending_or = False
        elif pending_or and q.clauses:
            pending_or = False
            if len(q.clauses[-1]) >= MAX_OR_BRANCHES:
                over.add("branches")
                continue
            q.clauses[-1].append(term)
        else:
            q.clauses.append([term])
        n_terms += 1
    if after and before and after > before:
        q.notices.append("The date range is empty: after: is later than before:.")
    q.filters = Filters(after=after, before=before, category=category, authors=tuple(authors))
    q.limits = [message for name, message in _LIMITS.items() if name in over]
    q.notices += q.limits
    return q


_LIMITS = {
    "terms": f"Only the first {MAX_TERMS} words and phrases were searched for.",
    "branches": f"Only the first {MAX_OR_BRANCHES} alternatives of an OR were searched for.",
    "authors": f"Only the first {MAX_AUTHORS} author: filters were applied.",
}


def cost_error(text: str) -> str | None:
    """Why the APIs refuse this query (it goes past a bound of one query's cost), or None."""
    limits = parse(text).limits
    return " ".join(limits) or None
