from __future__ import annotations

from django.utils.text import slugify

# Path segments under /papers/ that are pages, not papers.
RESERVED = {"date", "week", "month", "trending", "submit", "search"}
MAX_LENGTH = 80


def unique_slug(title: str, taken) -> str:
    """A readable slug for a paper with no external id; `taken(slug)` says if one is used."""
    base = slugify(title)[:MAX_LENGTH].strip("-") or "paper"
    if base in RESERVED:
        base = f"{base}-paper"
    slug, n = base, 2
    while taken(slug):
        slug = f"{base}-{n}"
        n += 1
    return slug
