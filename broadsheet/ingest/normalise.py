"""Small, pure normalisers shared by every source."""

from __future__ import annotations

import re

# Digits are ASCII only ([0-9]): Python's \d also matches fullwidth and other digits, and an
# id typed with them would reach arXiv as typed and come back as a different (ASCII) id.
# New style: 0704.0001 to 2401.01234 (4 or 5 digits after the dot), optional version.
_NEW = re.compile(r"([0-9]{4}\.[0-9]{4,5})(?:v([0-9]+))?")
# Old style: archive(.subject)/YYMMNNN, e.g. hep-th/9901001, math.GT/0309136.
_OLD = re.compile(r"([a-z][a-z-]*(?:\.[A-Z]{2})?/[0-9]{7})(?:v([0-9]+))?")
# What people paste: ids, abs/pdf URLs (any version, optional .pdf), "arXiv:" prefixes.
_URL = re.compile(
    r"(?:https?://)?(?:www\.|export\.)?arxiv\.org/(?:abs|pdf|html)/(.+?)(?:\.pdf)?/?(?:[?#].*)?",
    re.IGNORECASE,
)
_GITHUB = re.compile(r"https?://(?:www\.)?github\.com/[\w.-]+/[\w.-]+", re.IGNORECASE)
_HTTP = re.compile(r"https?://[^\s<>()\"'{}\\]+", re.IGNORECASE)


def clean_text(text: str | None) -> str:
    """Newlines and runs of spaces collapsed to one space; LaTeX left as written."""
    if not text:
        return ""
    if len(text) > 200:
        # Long text is mostly clean already, or only hard-wrapped with single newlines (as
        # arXiv abstracts are): checking that is several times cheaper than splitting it into
        # words and joining them. Short text (names, titles) is as cheap to split as to check.
        flat = text.replace("\n", " ")
        # isprintable() is False for every whitespace character but the plain space (they
        # are all control or separator characters), and much faster than a regex scan.
        if "  " not in flat and flat[0] != " " and flat[-1] != " " and flat.isprintable():
            return flat
    return " ".join(text.split())


def normalise_arxiv_id(text: str) -> tuple[str | None, int | None]:
    """(versionless id, version) from an id or arXiv URL in any common form.

    (None, None) if the text is not one."""
    text = (text or "").strip()
    if len(text) > 200:
        return None, None
    # The common case first, with one match: a bare new-style id (no URL or "arXiv:" prefix
    # can match _NEW, so the answer is the same as below).
    m = _NEW.fullmatch(text)
    if m:
        return m[1], int(m[2]) if m[2] else None
    m = _URL.fullmatch(text)
    if m:
        text = m[1]
    if text.lower().startswith("arxiv:"):
        text = text[6:]
    for pattern in (_NEW, _OLD):
        m = pattern.fullmatch(text)
        if m:
            return m[1], int(m[2]) if m[2] else None
    return None, None


def find_links(text: str) -> tuple[str, str]:
    """(GitHub repository, project page) mentioned in an abstract or comment, or ''."""
    if not text or "://" not in text:
        # Both patterns need "://"; most abstracts have no link, and scanning them twice with
        # case-insensitive patterns is a noticeable part of an import.
        return "", ""
    github = ""
    m = _GITHUB.search(text or "")
    if m:
        github = m[0].rstrip(".,;:")
        github = re.sub(r"\.git$", "", github)
    project = ""
    for m in _HTTP.finditer(text or ""):
        url = m[0].rstrip(".,;:")
        if not any(host in url.lower() for host in ("github.com/", "arxiv.org", "doi.org")):
            project = url
            break
    return github, project
