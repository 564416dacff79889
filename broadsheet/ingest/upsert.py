"""One upsert for every source: normalised records in, papers stored by external id.

Records are written in batches, each in its own transaction: a run killed mid-way keeps every
batch it committed, and running it again finishes the rest without duplicates. A newer arXiv
version updates its paper in place (votes, listings and comments stay with the paper's row);
an older or identical one changes nothing. A field a record leaves empty keeps what we know:
sources tell different parts of a paper (HF has no categories, arXiv no project page).
"""

from __future__ import annotations

import datetime as dt
import functools
import gc
import logging
import operator
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.db import DataError, IntegrityError, connection, transaction
from django.utils import timezone

from broadsheet.ingest import upsert_postgresql
from broadsheet.ingest.records import PaperRecord, Rejected, checked
from broadsheet.papers.models import Author, Authorship, Listing, Paper
from broadsheet.papers.signals import bulk_changes, papers_changed

log = logging.getLogger("broadsheet.ingest")

# Paper fields a record sets, compared to decide between "updated" and "unchanged".
FIELDS = (
    "title", "abstract", "arxiv_version", "doi", "primary_category", "categories",
    "published_at", "updated_at", "comment", "journal_ref", "abs_url", "pdf_url",
    "project_url", "github_repo", "author_count", "thumbnail", "github_stars",
)  # fmt: skip
# Records per transaction. Bigger batches spread each commit's fixed costs (the WAL
# checkpoint, the lexical index's commit and merges) and the index pages every batch rewrites
# (the authorships' author_id index takes an entry per author of every paper) over more
# papers, and the index pages each commit rewrites grow with the database (bench/README.md,
# "ingest.py"). Larger batches make the record-by-record retry of a batch that clashes
# (store_safely) longer.
BATCH_SIZE = 20000
# Values per `IN (...)` list: under SQLite's historical limit of 999 query parameters.
IN_CHUNK = 900
# Page cache for an import on SQLite (KiB, as PRAGMA cache_size takes it when negative):
# the default 2 MB holds a small part of the indexes a batch inserts into.
SQLITE_IMPORT_CACHE_KIB = 256 * 1024


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
        # A reason quotes the record, which may hold what no terminal or log file takes.
        reason = reason.encode("utf-8", "backslashreplace").decode().replace("\x00", "\\x00")
        self.counts.rejected += 1
        if len(self.counts.reasons) < 1000:
            self.counts.reasons.append(reason)
        log.warning("rejected: %s", reason)

    def run(self, items: Iterable[PaperRecord | Rejected], progress=None) -> Counts:
        batch: list[PaperRecord] = []
        with _import_page_cache(), _no_foreign_key_checks(), bulk_changes(), _no_cyclic_gc():
            for item in items:
                if progress is not None:
                    progress.update(1)
                item = checked(item)
                if isinstance(item, Rejected):
                    self.reject(str(item))
                    continue
                batch.append(item)
                if len(batch) >= self.batch_size:
                    self.store_safely(batch)
                    batch = []
            if batch:
                self.store_safely(batch)
        return self.counts

    def store_safely(self, records: list[PaperRecord]) -> None:
        """Store a batch; if it clashes with stored data (a slug or DOI already used by
        another paper) or the database refuses a value, store its records one by one and
        reject the ones it refuses."""
        try:
            self.store(records)
        except (IntegrityError, DataError) as e:
            self.author_ids.clear()  # ids cached during the rolled-back batch are gone
            if len(records) == 1:
                why = (
                    "clashes with a stored paper (slug or DOI)"
                    if isinstance(e, IntegrityError)
                    else f"refused by the database ({str(e).strip()[:200]})"
                )
                self.reject(f"{records[0].describe()}: {why}")
                return
            for rec in records:
                self.store_safely([rec])

    def store(self, records: list[PaperRecord]) -> None:
        # The last record for an id in a batch wins, as if they had come one by one.
        by_key = {rec.key: rec for rec in records}
        counts = Counts()
        with transaction.atomic():
            existing = self._existing(by_key.values())
            new_records: list[PaperRecord] = []
            changed: list[Paper] = []
            authors_to_set: list[tuple[int, list[str]]] = []
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
                    new_records.append(rec)
                    continue
                if self._apply(paper, rec):
                    changed.append(paper)
                    if rec.authors and rec.authors != paper.author_names:
                        authors_to_set.append((paper.pk, rec.authors))
                    counts.updated += 1
                else:
                    counts.unchanged += 1
            new_ids = self._create(new_records)
            counts.new = len(new_ids)
            if changed:
                for p in changed:
                    p.modified = timezone.now()
                names = [*FIELDS, "source_upvotes", "hidden", "modified"]
                if connection.vendor == "postgresql":
                    upsert_postgresql.update_papers(changed, names)
                else:
                    Paper.objects.bulk_update(changed, names, batch_size=500)
            self._set_authors(authors_to_set, replace=True)
            self._set_authors(
                [(new_ids[rec.key], rec.authors) for rec in new_records if rec.authors]
            )
            paper_ids = {key: p.pk for key, p in existing.items()} | new_ids
            counts.listed = self._list(by_key.values(), paper_ids)
            # What was just stored, so that the search documents need not read it back.
            new_authors = dict(authors_to_set)
            texts = {
                p.pk: (p.title, p.abstract, new_authors.get(p.pk, p.author_names)) for p in changed
            }
            for rec in new_records:
                texts[new_ids[rec.key]] = (rec.title, rec.abstract, rec.authors or [])
            if texts:
                # Inside the batch's transaction: the search index commits with the papers.
                papers_changed.send(sender=Paper, paper_ids=sorted(texts), texts=texts)
        self.counts.add(counts)

    def _existing(self, records) -> dict[str, Paper]:
        records = list(records)
        found: dict[str, Paper] = {}
        for prefix, name, values in (
            ("arXiv:", "arxiv_id", [r.arxiv_id for r in records if r.arxiv_id]),
            ("doi:", "doi", [r.doi for r in records if not r.arxiv_id and r.doi]),
            ("slug:", "slug", [r.slug for r in records if not r.arxiv_id and not r.doi]),
        ):
            for chunk in _chunks(values):
                # Which are stored, by one raw query: most records of a big import are new,
                # and the ORM builds a 900-value IN clause at a cost (see bench/ingest.py).
                with connection.cursor() as cursor:
                    marks = ", ".join(["%s"] * len(chunk))
                    cursor.execute(
                        f"SELECT {name} FROM papers_paper WHERE {name} IN ({marks})", chunk
                    )
                    stored = [row[0] for row in cursor.fetchall()]
                if stored:
                    for p in Paper.objects.filter(**{f"{name}__in": stored}):
                        found[prefix + getattr(p, name)] = p
        if found:
            names: dict[int, list[str]] = {}
            for chunk in _chunks([p.pk for p in found.values()]):
                rows = Authorship.objects.filter(paper_id__in=chunk).order_by(
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
                if name == "thumbnail" and paper.thumbnail:
                    continue  # the worker may have stored it already (thumbnails.py)
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

    def _create(self, records: list[PaperRecord]) -> dict[str, int]:
        """Insert papers for new records; returns their ids by record key."""
        if not records:
            return {}
        from broadsheet.papers.slugs import unique_slug

        slugs = [rec.slug or (arxiv_slug(rec.arxiv_id) if rec.arxiv_id else "") for rec in records]
        used = set(filter(None, slugs))
        for i, rec in enumerate(records):
            if not slugs[i]:  # DOI-only papers: a slug from the title (rare, slow path)
                slugs[i] = unique_slug(
                    rec.title, lambda s: s in used or Paper.objects.filter(slug=s).exists()
                )
                used.add(slugs[i])
        ids = self._insert_papers(records, slugs)
        return {rec.key: ids[slug] for rec, slug in zip(records, slugs, strict=True)}

    def _insert_papers(self, records: list[PaperRecord], slugs: list[str]) -> dict[str, int]:
        """Insert new papers with one executemany (on PostgreSQL, one COPY); returns their
        ids by slug.

        Rows are built straight from the records: a Paper instance per record (and
        bulk_create preparing each of its fields) costs more than the insert itself, and
        only datetimes and JSON need adapting. The ids are read back by slug (unique), which
        holds whatever else is writing; rowids counted from cursor.lastrowid would not."""
        ops = connection.ops
        fields = [f for f in Paper._meta.concrete_fields if not f.primary_key]
        adapters = {}
        for f in fields:
            kind = f.get_internal_type()
            if kind == "DateTimeField":
                adapters[f.attname] = (
                    _sqlite_datetime
                    if connection.vendor == "sqlite"
                    else ops.adapt_datetimefield_value
                )
            elif kind == "JSONField":
                adapters[f.attname] = _json_adapter(f.encoder)
        # Values the same for every row of the batch, adapted once: the timestamps, and the
        # defaults of the fields no record sets (ai_keywords, upvote_count).
        now = timezone.now()
        per_record = {*FIELDS, "slug", "arxiv_id", "source_upvotes", "hidden"}
        same = {f.attname: f.get_default() for f in fields if f.attname not in per_record}
        same.update(created=now, modified=now)
        same = {name: adapters[name](v) if name in adapters else v for name, v in same.items()}
        adapt_each = [(name, a) for name, a in adapters.items() if name in per_record]
        row_of = operator.itemgetter(*(f.attname for f in fields))
        rows = []
        for rec, slug in zip(records, slugs, strict=True):
            values = _values(rec)  # what Paper(slug=..., **_values(rec)) would hold
            values.update(
                same,
                slug=slug,
                arxiv_id=rec.arxiv_id,
                source_upvotes=rec.source_upvotes or 0,
                hidden=rec.hidden,
            )
            for name, adapt in adapt_each:
                values[name] = adapt(values[name])
            rows.append(row_of(values))
        if connection.vendor == "postgresql":
            return upsert_postgresql.insert_papers(fields, rows, slugs)
        table = Paper._meta.db_table
        names = ", ".join(ops.quote_name(f.column) for f in fields)
        marks = ", ".join(["%s"] * len(fields))
        ids: dict[str, int] = {}
        with connection.cursor() as cursor:
            cursor.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})", rows)
            for chunk in _chunks(slugs):
                marks = ", ".join(["%s"] * len(chunk))
                cursor.execute(f"SELECT slug, id FROM {table} WHERE slug IN ({marks})", chunk)
                ids.update(cursor.fetchall())
        return ids

    def _author_ids(self, names: set[str]) -> dict[str, int]:
        self._forget_deleted_authors(names)
        missing = [n for n in names if n not in self.author_ids]
        for i in range(0, len(missing), 500):
            chunk = missing[i : i + 500]
            Author.objects.bulk_create([Author(name=n) for n in chunk], ignore_conflicts=True)
            self.author_ids.update(Author.objects.filter(name__in=chunk).values_list("name", "id"))
        return self.author_ids

    def _forget_deleted_authors(self, names: set[str]) -> None:
        """Drop cached ids of authors deleted since they were cached (by an admin, between
        two batches). On SQLite, with foreign keys unchecked (_no_foreign_key_checks),
        nothing else would stop an authorship pointing at them; the batch's transaction holds
        the write lock, so nothing can delete them after this check. (On PostgreSQL the
        database resolves the names itself: upsert_postgresql.set_authors.)"""
        cached = {self.author_ids[n] for n in names if n in self.author_ids}
        if not cached:
            return
        stored: set[int] = set()
        for chunk in _chunks(sorted(cached)):
            stored.update(Author.objects.filter(id__in=chunk).values_list("id", flat=True))
        if len(stored) < len(cached):
            self.author_ids = {n: i for n, i in self.author_ids.items() if i in stored}

    def _set_authors(self, items: list[tuple[int, list[str]]], replace: bool = False) -> None:
        """Store the authors, in order, of (paper id, names) pairs."""
        if not items:
            return
        if connection.vendor == "postgresql":  # names resolved by the database
            upsert_postgresql.set_authors(items, replace)
            return
        ids = self._author_ids({name for _, names in items for name in names})
        if replace:
            for chunk in _chunks([paper_id for paper_id, _ in items]):
                Authorship.objects.filter(paper_id__in=chunk).delete()
        rows = [(pid, ids[name], i) for pid, names in items for i, name in enumerate(names)]
        # Plain executemany: authorships are most of the rows an import writes, and building
        # a model instance for each costs more than the insert itself (see bench/ingest.py).
        table = Authorship._meta.db_table
        with connection.cursor() as cursor:
            cursor.executemany(
                f"INSERT INTO {table} (paper_id, author_id, position) VALUES (%s, %s, %s)", rows
            )

    def _list(self, records, paper_ids: dict[str, int]) -> int:
        """Put papers on a feed day when the source says so (Hugging Face daily papers)."""
        wanted = [r for r in records if r.listing_day]
        if not wanted:
            return 0
        listed = set()
        for chunk in _chunks([paper_ids[r.key] for r in wanted]):
            listed.update(
                Listing.objects.filter(paper_id__in=chunk).values_list("paper_id", flat=True)
            )
        rows = [
            Listing(
                paper_id=paper_ids[r.key],
                day=r.listing_day,
                submitted_at=r.listed_at or timezone.now(),
                source=r.listing_source,
            )
            for r in wanted
            if paper_ids[r.key] not in listed
        ]
        Listing.objects.bulk_create(rows, ignore_conflicts=True)
        return len(rows)


def _json_adapter(encoder) -> Callable[[object], object]:
    """A value for a JSON column as the ORM saves it: None is SQL NULL (a nullable field's
    "not known yet", e.g. keywords not computed), anything else JSON."""
    adapt = functools.partial(connection.ops.adapt_json_value, encoder=encoder)
    return lambda value: None if value is None else adapt(value)


def _sqlite_datetime(value: dt.datetime | None) -> str | None:
    """What Django's SQLite adapter stores for a datetime (UTC, naive, as str() writes it),
    at a third of its cost for the UTC datetimes validate() gives every record."""
    if value is not None and value.tzinfo is dt.UTC:
        return str(value.replace(tzinfo=None))
    return connection.ops.adapt_datetimefield_value(value)


@contextmanager
def _import_page_cache():
    """On SQLite, a bigger page cache on this connection while records are stored.

    Every batch inserts into the same indexes (arXiv id, slug, the authorships' author_id,
    which takes an entry per author of every paper); with SQLite's default 2 MB cache their
    pages are read back from the OS for every batch once the database passes ~100k papers.
    Per connection, so it touches nothing else; put back afterwards, never made smaller."""
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA page_size")
        page_size = cursor.fetchone()[0]
        cursor.execute("PRAGMA cache_size")
        before = cursor.fetchone()[0]
    # A negative cache_size is in KiB, a positive one in pages.
    if (-before * 1024 if before < 0 else before * page_size) >= SQLITE_IMPORT_CACHE_KIB * 1024:
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute(f"PRAGMA cache_size = {-SQLITE_IMPORT_CACHE_KIB}")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA cache_size = {int(before)}")


def _foreign_keys_on() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA foreign_keys")
        return bool(cursor.fetchone()[0])


@contextmanager
def _no_foreign_key_checks():
    """On SQLite, foreign keys unchecked while an import stores its batches.

    Checking them is two lookups for every authorship row (its paper, its author), a
    measurable share of an import's CPU (bench/README.md). Every id a batch writes
    was read or created in the batch's own transaction, which holds SQLite's write lock,
    so none can dangle; the one exception, author ids cached across batches, is checked
    again in each batch (Upserter._forget_deleted_authors). Django emulates ON DELETE
    itself, so nothing else changes. SQLite ignores the PRAGMA inside a transaction: an
    import within an outer atomic block (tests) keeps its checks."""
    if connection.vendor != "sqlite" or connection.in_atomic_block or not _foreign_keys_on():
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA foreign_keys = OFF")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA foreign_keys = ON")


@contextmanager
def _no_cyclic_gc():
    """Python's cycle collector off while records are stored: an import allocates millions
    of short-lived containers, which trigger collections that walk the whole heap and find
    nothing, since records and rows hold no cycles."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _chunks(values: list, size: int = IN_CHUNK):
    for start in range(0, len(values), size):
        yield values[start : start + size]


def upsert(
    items: Iterable[PaperRecord | Rejected], batch_size: int = BATCH_SIZE, progress=None
) -> Counts:
    return Upserter(batch_size).run(items, progress=progress)
