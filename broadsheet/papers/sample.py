"""The sample data shipped with Broadsheet, so a new site shows what it does.

- The sample listing: a real Daily Papers page of 2026-06-23 (34 papers, data/seed-papers.json),
  listed over the last SAMPLE_DAYS days ending today (the file's first papers today), so the
  feed, trending and the digest preview have something on any day.
- The arXiv set: 1,000 rows of real arXiv titles and abstracts with their categories
  (data/arxiv-1000.csv; 993 papers, as the file repeats 7 rows), stored as searchable papers
  that are not on the feed. Their vectors and keywords ship beside them
  (data/arxiv-1000-vectors.npy and .json, made by bench/sample_vectors.py with the site's own
  embedder), so a new site does not spend a minute embedding them; a site whose model differs
  from the one the file names embeds them itself (`broadsheet embed`, `broadsheet keywords`).
"""

from __future__ import annotations

import ast
import csv
import datetime as dt
import io
import json
from dataclasses import dataclass
from importlib import resources

import numpy as np
from django.db import IntegrityError, transaction
from django.utils import timezone

from broadsheet.papers.models import Listing, Paper
from broadsheet.papers.signals import papers_changed
from broadsheet.papers.slugs import unique_slug

SAMPLE_DAY = dt.date(2026, 6, 23)  # the day of the Daily Papers page the listing comes from
SAMPLE_DAYS = 4  # the listing is spread over this many days, ending today
ARXIV_FILE = "data/arxiv-1000.csv"
VECTORS_FILE = "data/arxiv-1000-vectors.npy"
VECTORS_META = "data/arxiv-1000-vectors.json"


def _data(name: str):
    return resources.files("broadsheet.papers").joinpath(name)


def sample_records() -> list[dict]:
    return json.loads(_data("data/seed-papers.json").read_text())["papers"]


@dataclass(frozen=True)
class ArxivRow:
    title: str
    abstract: str
    categories: list[str]


def arxiv_rows() -> list[ArxivRow]:
    """The arXiv set's rows in the file's order (all of them, repeated rows too: the shipped
    vectors follow the file row by row)."""
    text = _data(ARXIV_FILE).read_text(encoding="utf-8")
    rows = []
    for rec in csv.DictReader(io.StringIO(text)):
        # The terms column is a Python list literal: "['cs.CV', 'cs.LG']".
        terms = ast.literal_eval(rec["terms"]) if rec["terms"].startswith("[") else []
        rows.append(
            ArxivRow(
                " ".join(rec["titles"].split()),
                " ".join(rec["summaries"].split()),
                [t for t in terms if isinstance(t, str)],
            )
        )
    return rows


def shipped_vectors() -> tuple[np.ndarray, dict]:
    """The arXiv set's vectors (float32, one row per CSV row) and what the .json beside them
    says: the model that made them, each row's text hash and keywords."""
    with _data(VECTORS_FILE).open("rb") as f:
        vectors = np.load(f).astype(np.float32)
    return vectors, json.loads(_data(VECTORS_META).read_text())


def _links(urls: list[str]) -> dict:
    fields = {"github_repo": "", "project_url": ""}
    for url in urls:
        if url.startswith("https://github.com/") and not fields["github_repo"]:
            fields["github_repo"] = url
        elif not fields["project_url"]:
            fields["project_url"] = url
    return fields


@dataclass
class SampleCounts:
    listed_new: int = 0
    listed_existing: int = 0
    searchable_new: int = 0
    searchable_existing: int = 0
    vectors: int = 0  # shipped vectors stored (0: the site's model differs, or none new)


def load_sample(day: dt.date | None = None, arxiv: bool = True) -> SampleCounts:
    """Load the sample listing (on `day`, or over the last SAMPLE_DAYS days ending today)
    and, with `arxiv`, the arXiv set. Papers are matched by title (and abstract), so loading
    twice changes nothing."""
    try:
        counts = _load_sample(day, arxiv)
    except IntegrityError:
        # A load running at the same time committed the same papers first (on PostgreSQL our
        # insert waited for it on the unique slug); now they are there to be matched.
        counts = _load_sample(day, arxiv)
    if counts.vectors:
        from broadsheet.search.backends import get_backend

        get_backend().sync_vectors()  # the SQLite-mode vector index file
    return counts


def _listing_times(day: dt.date | None, count: int) -> list[tuple[dt.date, dt.datetime]]:
    """(feed day, listed at) of each sample paper, in the file's order: newest first, so
    ties keep the file's order; a minute apart (less early in the morning: never after now)."""
    now = timezone.now()
    per_day = count if day is not None else -(-count // SAMPLE_DAYS)
    out = []
    for i in range(count):
        if day is not None:
            on, position = day, i
        else:
            back = i * SAMPLE_DAYS // count
            on = timezone.localdate(now) - dt.timedelta(days=back)
            position = i - -(-back * count // SAMPLE_DAYS)  # from the first paper of its day
        start = timezone.make_aware(dt.datetime.combine(on, dt.time()))
        base = min(start + dt.timedelta(hours=9), max(now, start))
        step = min(dt.timedelta(minutes=1), (base - start) / per_day)
        out.append((on, base - step * position))
    return out


@transaction.atomic
def _load_sample(day: dt.date | None, arxiv: bool) -> SampleCounts:
    counts = SampleCounts()
    new_ids: list[int] = []
    records = sample_records()
    for rec, (on, listed_at) in zip(records, _listing_times(day, len(records)), strict=True):
        title = " ".join(rec["title"].split())
        paper = Paper.objects.filter(title=title, arxiv_id=None).first()
        if paper is None:
            published = dt.datetime.combine(dt.date.fromisoformat(rec["published_on"]), dt.time())
            paper = Paper.objects.create(
                slug=unique_slug(title, lambda s: Paper.objects.filter(slug=s).exists()),
                title=title,
                abstract=" ".join(rec["abstract"].split()),
                published_at=timezone.make_aware(published, dt.UTC),
                author_count=rec["authors_count"],
                source_upvotes=rec["upvotes"],
                **_links(rec["links"]),
            )
            counts.listed_new += 1
            new_ids.append(paper.pk)
        else:
            counts.listed_existing += 1
        Listing.objects.get_or_create(
            paper=paper,
            defaults={"day": on, "submitted_at": listed_at, "source": Listing.Source.SAMPLE},
        )
    if new_ids:
        papers_changed.send(sender=Paper, paper_ids=new_ids)
    if arxiv:
        _load_arxiv(counts)
    return counts


def _load_arxiv(counts: SampleCounts) -> None:
    from broadsheet.search.backends.base import text_hash
    from broadsheet.search.embedder import model_name

    rows = arxiv_rows()
    vectors, meta = shipped_vectors()
    usable = meta.get("model") == model_name() and len(vectors) == len(rows)
    stored = set(
        Paper.objects.filter(
            arxiv_id=None, doi=None, title__in={r.title for r in rows}
        ).values_list("title", "abstract")
    )
    used: set[str] = set()
    seen: set[tuple[str, str]] = set()
    new: dict[int, Paper] = {}  # file row -> paper
    for i, row in enumerate(rows):
        if (row.title, row.abstract) in seen:
            continue  # the file repeats a few rows: one paper each
        seen.add((row.title, row.abstract))
        if (row.title, row.abstract) in stored:
            counts.searchable_existing += 1
            continue
        slug = unique_slug(row.title, lambda s: s in used or Paper.objects.filter(slug=s).exists())
        used.add(slug)
        fits = usable and meta["text_hashes"][i] == text_hash(row.title, row.abstract)
        new[i] = Paper(
            slug=slug,
            title=row.title,
            abstract=row.abstract,
            primary_category=row.categories[0] if row.categories else "",
            categories=row.categories,
            # Keywords are chosen by closeness to the vector: shipped ones go with it.
            ai_keywords=meta["keywords"][i] if fits else None,
        )
    if not new:
        return
    Paper.objects.bulk_create(new.values(), batch_size=500)
    counts.searchable_new = len(new)
    papers_changed.send(sender=Paper, paper_ids=[p.pk for p in new.values()])
    items = [
        (paper.pk, vectors[i], meta["text_hashes"][i])
        for i, paper in new.items()
        if paper.ai_keywords is not None
    ]
    if items:
        from broadsheet.search.backends import get_backend

        get_backend().store_vectors(items)
    counts.vectors = len(items)
