"""The reader's filter of a paper list: arXiv categories, has code, include and exclude keywords.

One value, shared by the feed pages and their RSS/Atom feeds (front), a member's default
filter (DefaultFilter), and whatever else narrows a list of papers the same way (digests,
channels). It reads from and writes to URL parameters, so a filtered page can be shared:

    cat=cs.CL&cat=stat   one or more arXiv categories; an archive (`stat`) matches stat.*
    code=1               only papers with a code repository link
    include=a, "b c"     keywords, comma separated: a paper must mention at least one
    exclude=d, e         keywords: a paper mentioning any of them is left out

Categories and code are SQL conditions. Keywords are matched as search matches words and
phrases (in the title, abstract and author names, by the search index of the engine that
runs; a keyword of several words is a phrase): the search app registers that matcher
(`use_keyword_matcher`), since this layer sits below it. A paper the search index has not
seen yet matches no keyword.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from django.db.models import Q, QuerySet
from django.http import QueryDict

MAX_CATEGORIES = 10
MAX_KEYWORDS = 10  # of each list
MAX_KEYWORD = 100  # characters of one keyword
KEYS = ("cat", "code", "include", "exclude")

CATEGORY = re.compile(r"[A-Za-z][A-Za-z0-9.\-]{0,31}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_TRUE = {"1", "on", "true", "yes"}
_FALSE = {"", "0", "off", "false", "no"}

# (paper ids, wanted keywords, unwanted keywords) -> the ids that mention at least one wanted
# keyword (any, when none is wanted) and no unwanted one.
KeywordMatcher = Callable[[Sequence[int], Sequence[str], Sequence[str]], set[int]]
_matcher: list[KeywordMatcher] = []


def use_keyword_matcher(matcher: KeywordMatcher) -> None:
    """Called by the search app when it starts: how keywords are matched."""
    _matcher[:] = [matcher]


class FilterError(ValueError):
    """A filter parameter that cannot be read; the message says which and why."""


def category_q(category: str, field: str = "") -> Q:
    """Papers in an arXiv category (`cs.CL`, `hep-th`) or in any category of an archive
    (`cs` matches cs.CL, cs.LG, ...).

    Categories are a JSON list; a substring match on its text works on both databases
    (SQLite has no JSON `contains` lookup). The quotes anchor it to whole entries.
    """
    q = Q(**{f"{field}primary_category__iexact": category}) | Q(
        **{f"{field}categories__icontains": f'"{category}"'}
    )
    if "." not in category:
        q |= Q(**{f"{field}primary_category__istartswith": f"{category}."}) | Q(
            **{f"{field}categories__icontains": f'"{category}.'}
        )
    return q


def _keywords(name: str, values: Iterable[str]) -> tuple[str, ...]:
    found: list[str] = []
    for value in values:
        for part in _CONTROL.sub(" ", value).split(","):
            word = " ".join(part.replace('"', " ").split())
            if not word:
                continue
            if len(word) > MAX_KEYWORD:
                raise FilterError(f"A keyword in `{name}` is over {MAX_KEYWORD} characters.")
            if not any(c.isalnum() for c in word):
                raise FilterError(f"The keyword {word[:20]!r} in `{name}` has no letter or digit.")
            if word.lower() not in (w.lower() for w in found):
                found.append(word)
    if len(found) > MAX_KEYWORDS:
        raise FilterError(f"At most {MAX_KEYWORDS} keywords in `{name}`, please.")
    return tuple(found)


@dataclass(frozen=True)
class PaperFilter:
    categories: tuple[str, ...] = ()
    has_code: bool = False
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.categories or self.has_code or self.include or self.exclude)

    # Reading and writing ---------------------------------------------------------------------

    @staticmethod
    def given(query: QueryDict) -> bool:
        """Whether the parameters say anything about the filter (even an empty one)."""
        return any(key in query for key in KEYS)

    @classmethod
    def from_query(cls, query: QueryDict) -> PaperFilter:
        """The filter the parameters describe; FilterError (with a message) when one is bad.
        `cat` may repeat or hold several categories separated by commas or spaces."""
        categories: list[str] = []
        for value in query.getlist("cat"):
            for cat in re.split(r"[,\s]+", value.strip()):
                if not cat:
                    continue
                if not CATEGORY.fullmatch(cat):
                    raise FilterError(
                        f"{cat[:40]!r} is not an arXiv category (like cs.CL, or an archive: cs)."
                    )
                if cat.lower() not in (c.lower() for c in categories):
                    categories.append(cat)
        if len(categories) > MAX_CATEGORIES:
            raise FilterError(f"At most {MAX_CATEGORIES} categories, please.")
        code = query.get("code", "").strip().lower()
        if code not in _TRUE | _FALSE:
            raise FilterError("`code` is 1 (only papers with code) or 0.")
        return cls(
            categories=tuple(categories),
            has_code=code in _TRUE,
            include=_keywords("include", query.getlist("include")),
            exclude=_keywords("exclude", query.getlist("exclude")),
        )

    @classmethod
    def from_string(cls, text: str) -> PaperFilter:
        """The filter of a stored query string (to_string's)."""
        return cls.from_query(QueryDict(text))

    def to_query(self) -> QueryDict:
        query = QueryDict(mutable=True)
        query.setlist("cat", list(self.categories))
        if self.has_code:
            query["code"] = "1"
        if self.include:
            query["include"] = ", ".join(self.include)
        if self.exclude:
            query["exclude"] = ", ".join(self.exclude)
        return query

    def to_string(self) -> str:
        """The URL parameters, encoded (empty for no filter)."""
        return self.to_query().urlencode()

    def describe(self) -> str:
        """A short line for people: "cs.CL or stat · with code · about diffusion"."""
        parts = []
        if self.categories:
            parts.append(" or ".join(self.categories))
        if self.has_code:
            parts.append("with code")
        if self.include:
            parts.append("about " + " or ".join(self.include))
        if self.exclude:
            parts.append("not " + " or ".join(self.exclude))
        return " · ".join(parts)

    # Applying ----------------------------------------------------------------------------------

    def q(self, field: str = "") -> Q:
        """The conditions SQL can check alone (categories, code), on papers at `field`
        ("paper__" for listings)."""
        q = Q()
        if self.categories:
            any_category = Q()
            for cat in self.categories:
                any_category |= category_q(cat, field)
            q &= any_category
        if self.has_code:
            q &= ~Q(**{f"{field}github_repo": ""})
        return q

    def apply(self, queryset: QuerySet, field: str = "") -> QuerySet:
        """`queryset` (of papers, or of rows with a paper at `field`, like "paper__")
        narrowed to the papers this filter lets through, in its own order.

        Keywords cost two queries whatever the count: the candidates' paper ids are read
        here, matched by the search index, and the rest is one `IN` condition."""
        if not self:
            return queryset
        queryset = queryset.filter(self.q(field))
        if not (self.include or self.exclude):
            return queryset
        if not _matcher:
            raise RuntimeError("no keyword matcher: is broadsheet.search installed?")
        id_field = f"{field}id" if field else "pk"
        ids = list(queryset.order_by().values_list(id_field, flat=True))
        keep = _matcher[0](ids, self.include, self.exclude) if ids else set()
        if self.include:
            return queryset.filter(**{f"{id_field}__in": sorted(keep)})
        # Excluding alone: the few papers left out make the shorter list.
        return queryset.exclude(**{f"{id_field}__in": sorted(set(ids) - keep)})


def normalised_text(text: str) -> str:
    """A filter typed in a form (a filtered page's URL parameters, or its whole address),
    as stored: PaperFilter.to_string() of what it says. FilterError when it cannot be read."""
    text = (text or "").strip()
    if "?" in text:
        text = text.split("?", 1)[1]
    query = QueryDict(text)
    unknown = sorted(set(query) - set(KEYS))
    if unknown:
        raise FilterError(
            f"Unknown filter parameter {unknown[0][:40]!r}: use cat, code, include and exclude."
        )
    return PaperFilter.from_query(query).to_string()
