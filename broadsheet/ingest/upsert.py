"""One upsert for every source: normalised records in, papers stored by external id.

Records are written in batches, each in its own transaction: a run killed mid-way keeps every
batch it committed, and running it again finishes the rest without duplicates. A newer arXiv
version updates its paper in place (votes, listings and comments stay with the paper's row);
an older or identical one changes nothing. A field a record leaves empty keeps what we know:
sources tell different parts of a paper (HF has no categories, arXiv no project page).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from broadsheet.ingest.records import PaperRecord, Rejected, validate
from broadsheet.papers.models import Author, Authorship, Listing, Paper
from broadsheet.papers.signals import papers_changed

log = logging.getLogger("broadsheet.ingest")

# Paper fields a record sets, compared to decide between "updated" and "unchanged".
FIELDS = (
    "title", "abstract", "arxiv_version", "doi", "primary_category", "categories",
    "published_at", "updated_at", "comment", "journal_ref", "abs_url", "pdf_url",
    "project_url", "github_repo", "author_count",
)  # fmt: skip
BATCH_SIZE = 1000


@dataclass
class Counts:
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    listed: int = 0
    reasons: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return (
            f"{self.new} new, {self.updated} updated, {self.unchanged} unchanged, "
            f"{self.rejected} rejected, {self.listed} newly listed"
        )

    def add(self, other: Counts) -> None:
        for name in ("new", "updated", "unchanged", "rejected", "listed"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.reasons += other.reasons


def arxiv_slug(arxiv_id: str) -> str:
    return "arxiv-" + arxiv_id.replace("/", "-").replace(".", "-").lower()


def _values(rec: PaperRecord) -> dict:
    values = {name: getattr(rec, name) for name in FIELDS}
    values["author_count"] = len(rec.authors) if rec.authors else rec.author_count
    return values


class Upserter:
    """Stores batches of records. Keeps an author-name cache for the length of one run."""

    def __init__(self, batch_size: int = BATCH_SIZE):
        self.batch_size = batch_size
        self.author_ids: dict[str, int] = {}
        self.counts = Counts()

    def reject(self, reason: str) -> None:
        self.counts.rejected += 1
        if len(self.counts.reasons) < 1000:
            self.counts.reasons.append(reason)
        log.warning("rejected: %s", reason)

    def run(self, items: Iterable[PaperRecord | Rejected], progress=None) -> Counts:
        batch: list[PaperRecord] = []
        for item in items:
            if progress is not None:
                progress.update(1)
            if isinstance(item, Rejected):
                self.reject(str(item))
                continue
            try:
                batch.append(validate(item))
            except Rejected as e:
                self.reject(f"{item.describe()}: {e}")
                continue
            if len(batch) >= self.batch_size:
                self.store_safely(batch)
                batch = []
        if batch:
            self.store_safely(batch)
        return self.counts

    def store_safely(self, records: list[PaperRecord]) -> None:
        """Store a batch; if it clashes with stored data (a slug or DOI already used by
        another paper), store its records one by one and reject the ones that clash."""
        try:
            self.store(records)
        except IntegrityError:
            self.author_ids.clear()  # ids cached during the rolled-back batch are gone
            if len(records) == 1:
                self.reject(f"{records[0].describe()}: clashes with a stored paper (slug or DOI)")
                return
            for rec in records:
                self.store_safely([rec])

    def store(self, records: list[PaperRecord]) -> None:
        # The last record for an id in a batch wins, as if they had come one by one.
        by_key = {rec.key: rec for rec in records}
        counts = Counts()
        with transaction.atomic():
            existing = self._existing(by_key.values())
            new_papers: list[tuple[Paper, PaperRecord]] = []
            changed: list[Paper] = []
            authors_to_set: list[tuple[Paper, list[str]]] = []
            for rec in by_key.values():
                paper = existing.get(rec.key)
                if rec.deleted:
                    if paper is not None and not paper.hidden:
                        paper.hidden = True
                        changed.append(paper)
                        counts.updated += 1
                    else:
                        counts.unchanged += 1
                    continue
                if paper is None:
                    slug = rec.slug or (arxiv_slug(rec.arxiv_id) if rec.arxiv_id else "")
                    paper = Paper(slug=slug, arxiv_id=rec.arxiv_id, **_values(rec))
                    paper.source_upvotes = rec.source_upvotes or 0
                    paper.hidden = rec.hidden
                    new_papers.append((paper, rec))
                    continue
                if self._apply(paper, rec):
                    changed.append(paper)
                    if rec.authors and rec.authors != paper.author_names:
                        authors_to_set.append((paper, rec.authors))
                    counts.updated += 1
                else:
                    counts.unchanged += 1
            counts.new = self._create(new_papers)
            if changed:
                for p in changed:
                    p.modified = timezone.now()
                Paper.objects.bulk_update(
                    changed, [*FIELDS, "source_upvotes", "hidden", "modified"], batch_size=500
                )
            self._set_authors(authors_to_set, replace=True)
            self._set_authors([(p, rec.authors) for p, rec in new_papers if rec.authors])
            counts.listed = self._list(by_key.values(), existing, new_papers)
            ids = {p.pk for p in changed} | {p.pk for p, _ in new_papers}
            if ids:
                # Inside the batch's transaction: the search index commits with the papers.
                papers_changed.send(sender=Paper, paper_ids=sorted(ids))
        self.counts.add(counts)

    def _existing(self, records) -> dict[str, Paper]:
        records = list(records)
        found: dict[str, Paper] = {}
        for prefix, name, values in (
            ("arXiv:", "arxiv_id", [r.arxiv_id for r in records if r.arxiv_id]),
            ("doi:", "doi", [r.doi for r in records if not r.arxiv_id and r.doi]),
            ("slug:", "slug", [r.slug for r in records if not r.arxiv_id and not r.doi]),
        ):
            if values:
                for p in Paper.objects.filter(**{f"{name}__in": values}):
                    found[prefix + getattr(p, name)] = p
        if found:
            names: dict[int, list[str]] = {}
            rows = Authorship.objects.filter(paper__in=list(found.values())).order_by(
                "paper_id", "position"
            )
            for paper_id, name in rows.values_list("paper_id", "author__name"):
                names.setdefault(paper_id, []).append(name)
            for p in found.values():
                p.author_names = names.get(p.pk, [])
        return found

    def _apply(self, paper: Paper, rec: PaperRecord) -> bool:
        """Bring a stored paper up to date with a record; True if anything changed."""
        changed = False
        stale = (
            rec.arxiv_version is not None
            and paper.arxiv_version is not None
            and rec.arxiv_version < paper.arxiv_version
        )
        if not stale:
            for name, value in _values(rec).items():
                if value is None or value == "" or value == []:
                    # The source did not say: never drop what we know (a DOI, the arXiv
                    # version and categories when HF has none, HF's project page).
                    continue
                if getattr(paper, name) != value:
                    setattr(paper, name, value)
                    changed = True
            if rec.authors and rec.authors != paper.author_names:
                changed = True
        if rec.source_upvotes is not None and rec.source_upvotes != paper.source_upvotes:
            paper.source_upvotes = rec.source_upvotes
            changed = True
        if rec.hidden and not paper.hidden:
            paper.hidden = True
            changed = True
        return changed

    def _create(self, new_papers: list[tuple[Paper, PaperRecord]]) -> int:
        if not new_papers:
            return 0
        from broadsheet.papers.slugs import unique_slug

        used = {p.slug for p, _ in new_papers if p.slug}
        for paper, rec in new_papers:
            if not paper.slug:  # DOI-only papers: a slug from the title (rare, slow path)
                paper.slug = unique_slug(
                    rec.title, lambda s: s in used or Paper.objects.filter(slug=s).exists()
                )
                used.add(paper.slug)
        self._insert_papers([p for p, _ in new_papers])
        return len(new_papers)

    def _insert_papers(self, papers: list[Paper]) -> None:
        """Insert new papers with executemany and read their ids back by slug.

        Paper.objects.bulk_create spends most of an import preparing each field of each
        instance; here only datetimes and JSON need adapting (see bench/ingest.py)."""
        now = timezone.now()
        fields = [f for f in Paper._meta.concrete_fields if not f.primary_key]
        ops = connection.ops
        adapt = {}
        for f in fields:
            kind = f.get_internal_type()
            if kind == "DateTimeField":
                adapt[f.attname] = ops.adapt_datetimefield_value
            elif kind == "JSONField":
                adapt[f.attname] = lambda v, f=f: ops.adapt_json_value(v, f.encoder)
        for p in papers:
            p.created = p.modified = now
        rows = [
            tuple(
                adapt[f.attname](getattr(p, f.attname))
                if f.attname in adapt
                else getattr(p, f.attname)
                for f in fields
            )
            for p in papers
        ]
        columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
        marks = ", ".join(["%s"] * len(fields))
        with connection.cursor() as cursor:
            cursor.executemany(
                f"INSERT INTO {Paper._meta.db_table} ({columns}) VALUES ({marks})", rows
            )
        ids = dict(
            Paper.objects.filter(slug__in=[p.slug for p in papers]).values_list("slug", "id")
        )
        for p in papers:
            p.pk = ids[p.slug]

    def _author_ids(self, names: set[str]) -> dict[str, int]:
        missing = [n for n in names if n not in self.author_ids]
        for i in range(0, len(missing), 500):
            chunk = missing[i : i + 500]
            Author.objects.bulk_create([Author(name=n) for n in chunk], ignore_conflicts=True)
            self.author_ids.update(Author.objects.filter(name__in=chunk).values_list("name", "id"))
        return self.author_ids

    def _set_authors(self, items: list[tuple[Paper, list[str]]], replace: bool = False) -> None:
        if not items:
            return
        ids = self._author_ids({name for _, names in items for name in names})
        if replace:
            Authorship.objects.filter(paper__in=[p for p, _ in items]).delete()
        rows = [(paper.pk, ids[name], i) for paper, names in items for i, name in enumerate(names)]
        # Plain executemany: authorships are most of the rows an import writes, and building
        # a model instance for each costs more than the insert itself (see bench/ingest.py).
        table = Authorship._meta.db_table
        with connection.cursor() as cursor:
            cursor.executemany(
                f"INSERT INTO {table} (paper_id, author_id, position) VALUES (%s, %s, %s)", rows
            )

    def _list(self, records, existing, new_papers) -> int:
        """Put papers on a feed day when the source says so (Hugging Face daily papers)."""
        wanted = [r for r in records if r.listing_day]
        if not wanted:
            return 0
        papers = {rec.key: p for p, rec in new_papers}
        papers.update(existing)
        listed = set(
            Listing.objects.filter(paper__in=[papers[r.key] for r in wanted]).values_list(
                "paper_id", flat=True
            )
        )
        rows = [
            Listing(
                paper=papers[r.key],
                day=r.listing_day,
                submitted_at=r.listed_at or timezone.now(),
                source=r.listing_source,
            )
            for r in wanted
            if papers[r.key].pk not in listed
        ]
        Listing.objects.bulk_create(rows, ignore_conflicts=True)
        return len(rows)


def upsert(
    items: Iterable[PaperRecord | Rejected], batch_size: int = BATCH_SIZE, progress=None
) -> Counts:
    return Upserter(batch_size).run(items, progress=progress)
