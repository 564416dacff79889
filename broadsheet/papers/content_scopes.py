"""The names of what a public page shows, for ContentVersion (migration 0010's triggers bump
them) and the pages that declare what they show (front/page_cache.py)."""

from __future__ import annotations

import datetime as dt

EVERY_CHANGE = "*"  # grows with every change: the order readers follow
EVERYTHING = "all"  # every page: an author renamed or claimed, a paper hidden, a bulk change
DAYS = "days"  # which days have listings: the day pages' navigation, the home page's day
TRENDING = "trending"


def paper(paper_id: int) -> str:
    """A paper's page: the paper, its authors, listing, votes and comments."""
    return f"paper:{paper_id}"


def day(when: dt.date) -> str:
    """One day's listings and their papers: the day page, and the week and month holding it."""
    return f"day:{when.isoformat()}"


def days(first: dt.date, last: dt.date) -> list[str]:
    return [day(first + dt.timedelta(days=n)) for n in range((last - first).days + 1)]
