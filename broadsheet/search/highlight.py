"""Highlighted titles and abstract snippets, made in Python for every hit.

Doing it here rather than with FTS5's snippet() or PostgreSQL's ts_headline gives both
backends the same output, works for hits found only by meaning, and keeps escaping in one
place: text is HTML-escaped first, then <mark> tags are added around matched words.
"""

from __future__ import annotations

import bisect
import html
import re
from collections.abc import Iterable, Iterator

from django.utils.safestring import SafeString

SNIPPET_WORDS = 45
MARK = "<mark>"  # only ever from us: text is escaped first
_WORD = re.compile(r"\w")


def _stem(word: str) -> str:
    """A crude prefix stem, so "autoencoders" also marks "autoencoder"."""
    if len(word) <= 4:
        return word
    return word[: len(word) - (2 if len(word) >= 8 else 1)]


def word_pattern(words: Iterable[str]) -> re.Pattern | None:
    """Words starting with a stem of one of `words`. Matches are only ever used through
    _spans, which drops those that start inside a word: a leading \\b in the pattern would
    find the same words 2-10x more slowly (re tests it at every position of the text)."""
    stems = sorted({_stem(w) for w in words if w}, key=len, reverse=True)
    if not stems:
        return None
    return re.compile(r"(?:" + "|".join(re.escape(s) for s in stems) + r")\w*", re.IGNORECASE)


def _spans(pattern: re.Pattern, text: str) -> Iterator[re.Match]:
    """The matches of a `word_pattern` in `text` that start a word, for their spans only.

    For ASCII text and words the lower-cased text is matched by a case-sensitive twin of
    the pattern: the same spans (case-insensitive ASCII is lower-casing), found in half the
    time (with IGNORECASE, re cannot skip ahead to a possible first letter). The twin comes
    from re's own cache of compiled patterns. A match inside a word runs to the word's end,
    so dropping it never hides a match that starts the next word."""
    if text.isascii() and pattern.pattern.isascii():
        text = text.lower()
        pattern = re.compile(pattern.pattern)
    for m in pattern.finditer(text):
        start = m.start()
        if start == 0 or not _WORD.match(text, start - 1):
            yield m


def escape(text: str) -> str:
    """django.utils.html.escape without its lazy-string wrapper (measurable at 40 calls a
    query): the same characters escaped, the same safe string."""
    return SafeString(html.escape(text))


def mark(text: str, pattern: re.Pattern | None) -> str:
    """Escaped `text` with <mark> around matches (matched on the raw text, so an entity
    such as &amp; is never split)."""
    if pattern is None:
        return escape(text)
    return _marked(text, [m.span() for m in _spans(pattern, text)])


def _marked(text: str, spans: list[tuple[int, int]]) -> str:
    out, pos = [], 0
    for start, end in spans:
        out.append(html.escape(text[pos:start]))
        out.append(f"{MARK}{html.escape(text[start:end])}</mark>")
        pos = end
    out.append(html.escape(text[pos:]))
    return "".join(out)


def snippet(text: str, pattern: re.Pattern | None, size: int = SNIPPET_WORDS) -> str:
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
    for m in _spans(pattern, joined):
        word += joined.count(" ", seen, m.start())
        seen = m.start()
        found.append((word, m.span()))
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


def matches(text: str, pattern: re.Pattern | None) -> bool:
    return bool(pattern and text and next(_spans(pattern, text), None))
