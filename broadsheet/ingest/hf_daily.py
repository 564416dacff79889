"""Hugging Face daily papers (or any HF-compatible endpoint): papers and their feed days.

The source's upvote count is kept as the paper's `source_upvotes`, apart from our members'
votes; feed pages rank by the sum, and so does trending (see docs/architecture.md).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator

from django.conf import settings
from django.utils import timezone

from broadsheet.ingest.arxiv_api import SourceError
from broadsheet.ingest.http import PoliteClient
from broadsheet.ingest.records import PaperRecord, Rejected
from broadsheet.papers.models import Listing

PAGE_SIZE = 100
MAX_PAGES = 100


def _when(text) -> dt.datetime | None:
    if not isinstance(text, str) or not text:
        return None
    try:
        value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _local_day(when: dt.datetime | None) -> dt.date | None:
    try:
        return timezone.localdate(when) if when else None
    except OverflowError:  # a time at the end of the calendar; validate() refuses it
        return None


def _is_web_url(url: str) -> bool:
    return url.startswith(("https://", "http://")) and len(url) <= 500 and " " not in url


def parse_item(item, day: dt.date | None, origin: str) -> PaperRecord:
    if not isinstance(item, dict) or not isinstance(item.get("paper"), dict):
        raise Rejected(f"{origin}: not a daily-papers item")
    paper = item["paper"]
    ident = paper.get("id")
    if not isinstance(ident, str) or not ident:
        raise Rejected(f"{origin}: paper without an id")
    authors = [
        a["name"]
        for a in paper.get("authors") or []
        if isinstance(a, dict) and isinstance(a.get("name"), str)
    ]
    # When HF put the paper on its daily page; the item's own publishedAt is arXiv's date.
    listed_at = _when(paper.get("submittedOnDailyAt")) or _when(item.get("publishedAt"))
    upvotes = paper.get("upvotes")
    stars = paper.get("githubStars")
    text = lambda v: v if isinstance(v, str) else ""  # noqa: E731
    # The image is downloaded into our own store by the worker (thumbnails.py).
    thumbnail = text(item.get("thumbnail"))
    return PaperRecord(
        arxiv_id=ident,
        title=text(paper.get("title")) or text(item.get("title")),
        abstract=text(paper.get("summary")) or text(item.get("summary")),
        authors=authors,
        published_at=_when(paper.get("publishedAt")),
        github_repo=text(paper.get("githubRepo")),
        project_url=text(paper.get("projectPage")),
        source_upvotes=upvotes if isinstance(upvotes, int) and upvotes >= 0 else None,
        thumbnail=thumbnail if _is_web_url(thumbnail) else "",
        github_stars=stars if type(stars) is int and stars >= 0 else None,
        listing_day=day or _local_day(listed_at),
        listed_at=listed_at,
        listing_source=Listing.Source.HF,
        origin=f"{origin} {ident}",
    )


def daily_pages(
    client: PoliteClient, period: dict[str, str]
) -> Iterator[list[PaperRecord | Rejected]]:
    """Pages of the listing for {"date": ...}, {"week": ...} or {"month": ...}."""
    day = dt.date.fromisoformat(period["date"]) if "date" in period else None
    url = f"{settings.HF_ENDPOINT}/api/daily_papers"
    for p in range(MAX_PAGES):
        body = client.get(url, {**period, "p": p, "limit": PAGE_SIZE})
        try:
            items = json.loads(body)
        except (ValueError, RecursionError) as e:  # bad JSON or UTF-8, nesting, huge numbers
            raise SourceError(f"{url}: not JSON ({type(e).__name__})") from None
        if not isinstance(items, list):
            raise SourceError(f"{url}: expected a list of papers")
        page = []
        for i, item in enumerate(items):
            try:
                page.append(parse_item(item, day, f"item {p * PAGE_SIZE + i}"))
            except Rejected as e:
                page.append(e)
        if page:
            yield page
        if len(items) < PAGE_SIZE:
            return
