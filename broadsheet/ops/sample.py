"""The sample data shipped with Broadsheet, so a new site shows what it does.

- The sample listing: a real Daily Papers page of 2026-06-23 (34 papers, data/seed-papers.json),
  listed over the last SAMPLE_DAYS days ending today (the file's first papers today), so the
  feed, trending and the digest preview have something on any day.
- The arXiv set: 1,000 rows of real arXiv titles and abstracts with their categories
  (data/arxiv-1000.csv; 993 papers, as the file repeats 7 rows), stored as searchable papers
  that are not on the feed.

Every data/ path here is in broadsheet/papers/data/; this module sits in
ops because loading the sample also stores the shipped vectors through search.

The vectors and keywords of both ship beside them (data/<file>-vectors.npy and .json, made by
bench/sample_vectors.py with the site's own embedder), so a new site spends no time embedding
them (1,000 abstracts take over a minute); a site whose model differs from the one the files
name embeds them itself (`broadsheet embed`, `broadsheet keywords`).
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
# Shipped vectors and keywords: data/<stem>-vectors.npy and .json, one row per record.
LISTING_VECTORS = "seed-papers"
ARXIV_VECTORS = "arxiv-1000"


def _data(name: str):
    """A file shipped in broadsheet/papers/ (the sample files are in its data/ folder)."""
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


def shipped_vectors(stem: str) -> tuple[np.ndarray, dict]:
    """Vectors shipped for a sample file (float32, one row per record) and what the .json
    beside them says: the model that made them, each record's text hash and keywords."""
    with _data(f"data/{stem}-vectors.npy").open("rb") as f:
        vectors = np.load(f).astype(np.float32)
    return vectors, json.loads(_data(f"data/{stem}-vectors.json").read_text())


def _shipped(stem: str, texts: list[tuple[str, str]]) -> list[tuple[np.ndarray, list] | None]:
    """For each (title, abstract) of the file, its shipped (vector, keywords), or None when
    the site's model is not the one that made them or the text is not the one embedded."""
    from broadsheet.search.backends.base import text_hash
    from broadsheet.search.embedder import model_name

    try:
        vectors, meta = shipped_vectors(stem)
    except FileNotFoundError:
        return [None] * len(texts)
    if meta.get("model") != model_name() or len(vectors) != len(texts):
        return [None] * len(texts)
    hashes, keywords = meta["text_hashes"], meta["keywords"]
    return [
        (vectors[i], keywords[i]) if hashes[i] == text_hash(title, abstract) else None
        for i, (title, abstract) in enumerate(texts)
    ]


def _store_vectors(papers: list[Paper], shipped: list[tuple[np.ndarray, list]]) -> int:
    """Store shipped vectors as these (just indexed) papers' own; returns how many."""
    from broadsheet.search.backends.base import text_hash
    from broadsheet.search.embedder import model_name
    from broadsheet.search.indexing import store_vectors

    items = [
        (paper.pk, vector, text_hash(paper.title, paper.abstract))
        for paper, (vector, _) in zip(papers, shipped, strict=True)
    ]
    if items:
        store_vectors(items, model_name())  # _shipped() checked they are of this model
    return len(items)


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
    vectors: int = 0  # shipped vectors stored (none when the site's model differs)


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
    records = sample_records()
    texts = [(" ".join(r["title"].split()), " ".join(r["abstract"].split())) for r in records]
    shipped = _shipped(LISTING_VECTORS, texts)
    new: list[tuple[Paper, tuple | None]] = []
    times = _listing_times(day, len(records))
    for rec, (title, abstract), (on, listed_at), ready in zip(
        records, texts, times, shipped, strict=True
    ):
        paper = Paper.objects.filter(title=title, arxiv_id=None).first()
        if paper is None:
            published = dt.datetime.combine(dt.date.fromisoformat(rec["published_on"]), dt.time())
            paper = Paper.objects.create(
                slug=unique_slug(title, lambda s: Paper.objects.filter(slug=s).exists()),
                title=title,
                abstract=abstract,
                published_at=timezone.make_aware(published, dt.UTC),
                author_count=rec["authors_count"],
                source_upvotes=rec["upvotes"],
                # Keywords are chosen by closeness to the vector: shipped ones go with it.
                ai_keywords=ready[1] if ready else None,
                **_links(rec["links"]),
            )
            counts.listed_new += 1
            new.append((paper, ready))
        else:
            counts.listed_existing += 1
        Listing.objects.get_or_create(
            paper=paper,
            defaults={"day": on, "submitted_at": listed_at, "source": Listing.Source.SAMPLE},
        )
    if new:
        papers_changed.send(sender=Paper, paper_ids=[p.pk for p, _ in new])
        counts.vectors += _store_vectors(*_ready(new))
    if arxiv:
        _load_arxiv(counts)
    return counts


def _ready(new: list[tuple[Paper, tuple | None]]) -> tuple[list[Paper], list[tuple]]:
    pairs = [(paper, ready) for paper, ready in new if ready is not None]
    return [p for p, _ in pairs], [r for _, r in pairs]


def _load_arxiv(counts: SampleCounts) -> None:
    rows = arxiv_rows()
    shipped = _shipped(ARXIV_VECTORS, [(r.title, r.abstract) for r in rows])
    stored = set(
        Paper.objects.filter(
            arxiv_id=None, doi=None, title__in={r.title for r in rows}
        ).values_list("title", "abstract")
    )
    used: set[str] = set()
    seen: set[tuple[str, str]] = set()
    new: list[tuple[Paper, tuple | None]] = []
    for row, ready in zip(rows, shipped, strict=True):
        if (row.title, row.abstract) in seen:
            continue  # the file repeats a few rows: one paper each
        seen.add((row.title, row.abstract))
        if (row.title, row.abstract) in stored:
            counts.searchable_existing += 1
            continue
        slug = unique_slug(row.title, lambda s: s in used or Paper.objects.filter(slug=s).exists())
        used.add(slug)
        paper = Paper(
            slug=slug,
            title=row.title,
            abstract=row.abstract,
            primary_category=row.categories[0] if row.categories else "",
            categories=row.categories,
            ai_keywords=ready[1] if ready else None,
        )
        new.append((paper, ready))
    if not new:
        return
    Paper.objects.bulk_create([p for p, _ in new], batch_size=500)
    counts.searchable_new = len(new)
    papers_changed.send(sender=Paper, paper_ids=[p.pk for p, _ in new])
    counts.vectors += _store_vectors(*_ready(new))
