"""Highlighted titles and abstract snippets, made in Python for every hit.

Doing it here rather than with FTS5's snippet() or PostgreSQL's ts_headline gives both
backends the same output, works for hits found only by meaning, and keeps escaping in one
place: text is HTML-escaped first, then <mark> tags are added around matched words.
"""

from __future__ import annotations

import bisect
import html
import re
from collections.abc import Iterable
from dataclasses import dataclass

from django.utils.safestring import SafeString

SNIPPET_WORDS = 45
MARK = "<mark>"  # only ever from us: text is escaped first
_WORD = re.compile(r"\w")
_WORD_REST = re.compile(r"\w*")


def _stem(word: str) -> str:
    """A crude prefix stem, so "autoencoders" also marks "autoencoder"."""
    if len(word) <= 4:
        return word
    return word[: len(word) - (2 if len(word) >= 8 else 1)]


@dataclass(frozen=True)
class WordPattern:
    """The stems of a query's words (see word_pattern)."""

    stems: tuple[str, ...]  # lower case, longest first
    regex: re.Pattern  # a stem, then the rest of its word (case-insensitive)
    lower_regex: re.Pattern  # the same, case-sensitive: for lower-cased ASCII text
    ascii: bool
    by_find: bool  # ASCII letters and digits only, 4 or more: see _spans


def word_pattern(words: Iterable[str]) -> WordPattern | None:
    """Words starting with a stem of one of `words`."""
    stems = sorted({_stem(w.lower()) for w in words if w}, key=len, reverse=True)
    if not stems:
        return None
    source = r"(?:" + "|".join(re.escape(s) for s in stems) + r")\w*"
    ascii = all(s.isascii() for s in stems)
    # A stem of word characters only (as query words are) never crosses a word boundary,
    # which the find path relies on.
    by_find = all(s.isascii() and s.isalnum() and len(s) >= 4 for s in stems)
    return WordPattern(
        tuple(stems), re.compile(source, re.IGNORECASE), re.compile(source), ascii, by_find
    )


def _spans(pattern: WordPattern, text: str) -> list[tuple[int, int]]:
    """(start, end) of the words in `text` that start with one of the pattern's stems.

    ASCII text is lower-cased first (which keeps every position). When every stem has four
    letters or digits or more, each is looked for with str.find and a hit is kept if it
    starts a word: over 200 of the shared abstracts that took a third of the regex's time
    for 3-5 query words (the regex tries its alternation at every position; 5.3-6.4 vs
    17.5-23.9 us an abstract for three words) and about the same for one. A kept hit runs
    to the end of its word, so hits of two stems either start the same word (the same
    span) or lie in different words. A shorter stem ("the") is found inside so many words
    that the regex is no slower: then the lower-cased text is matched by a case-sensitive
    regex (with IGNORECASE, re cannot skip ahead to a possible first letter). Other text
    takes the case-insensitive regex (lower-casing can move positions there)."""
    if not (pattern.ascii and text.isascii()):
        return _regex_spans(pattern.regex, text)
    lower = text.lower()
    if not pattern.by_find:
        return _regex_spans(pattern.lower_regex, lower)
    spans = set()
    for stem in pattern.stems:
        at = lower.find(stem)
        while at >= 0:
            before = lower[at - 1] if at else " "
            if not (before.isalnum() or before == "_"):  # \w, for ASCII
                spans.add((at, _WORD_REST.match(lower, at + len(stem)).end()))
            at = lower.find(stem, at + 1)
    return sorted(spans)


def _regex_spans(regex: re.Pattern, text: str) -> list[tuple[int, int]]:
    """The matches that start a word. (A leading \\b in the pattern would find the same
    words 2-10x more slowly: re tests it at every position of the text.) A match inside a
    word runs to the word's end, so dropping it never hides one that starts the next."""
    return [
        m.span()
        for m in regex.finditer(text)
        if not m.start() or not _WORD.match(text, m.start() - 1)
    ]


def escape(text: str) -> str:
    """django.utils.html.escape without its lazy-string wrapper (measurable at 40 calls a
    query): the same characters escaped, the same safe string."""
    return SafeString(html.escape(text))


def mark(text: str, pattern: WordPattern | None) -> str:
    """Escaped `text` with <mark> around matches (matched on the raw text, so an entity
    such as &amp; is never split)."""
    if pattern is None:
        return escape(text)
    return _marked(text, _spans(pattern, text))


def _marked(text: str, spans: list[tuple[int, int]]) -> str:
    out, pos = [], 0
    for start, end in spans:
        out.append(html.escape(text[pos:start]))
        out.append(f"{MARK}{html.escape(text[start:end])}</mark>")
        pos = end
    out.append(html.escape(text[pos:]))
    return "".join(out)


def snippet(text: str, pattern: WordPattern | None, size: int = SNIPPET_WORDS) -> str:
    """The window of `size` words with the most matches, highlighted, with ellipses."""
    words = text.split()
    if len(words) <= size:
        return mark(" ".join(words), pattern)
    start = 0
    if pattern is None:
        return _ellipsed(words, start, size, escape(" ".join(words[:size])))
    # One regex pass over the text, then only the matched words are looked at (this runs
    # for every hit shown). A match's word number is the count of spaces before it, counted
    # in C from the previous match on: no per-word Python loop. A match never holds a
    # space, so it lies in one word, and the chosen window is marked from these matches
    # (matching the window alone again would find the same ones: it starts and ends at
    # word boundaries).
    joined = " ".join(words)
    found: list[tuple[int, tuple[int, int]]] = []  # (word number, span in joined)
    hits: list[int] = []
    word, seen = 0, 0
    for span in _spans(pattern, joined):
        word += joined.count(" ", seen, span[0])
        seen = span[0]
        found.append((word, span))
        if not hits or hits[-1] != word:
            hits.append(word)
    # The window holding the most matched words, the earliest of those, starting a few
    # words before a match so that it reads as a sentence. (Moving the lead-in after the
    # choice, as this once did, could push the last matches out of the window.)
    best = 0
    for h in hits:
        first = min(max(h - 5, 0), len(words) - size)
        n = bisect.bisect_left(hits, first + size) - bisect.bisect_left(hits, first)
        if n > best:
            best, start = n, first
    offset = len(" ".join(words[:start])) + (1 if start else 0)  # of the window in joined
    chunk = joined[offset : offset + len(" ".join(words[start : start + size]))]
    spans = [(a - offset, b - offset) for w, (a, b) in found if start <= w < start + size]
    return _ellipsed(words, start, size, _marked(chunk, spans))


def _ellipsed(words: list[str], start: int, size: int, marked: str) -> str:
    prefix = "… " if start > 0 else ""
    suffix = " …" if start + size < len(words) else ""
    return escape(prefix) + marked + escape(suffix)


def matches(text: str, pattern: WordPattern | None) -> bool:
    return bool(pattern and text and _spans(pattern, text))
