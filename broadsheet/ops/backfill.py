"""`broadsheet backfill`: every arXiv paper of some categories since a date, made searchable.

Four stages, each shown as a line of one progress display (count, rate, ETA) on a terminal:

1. harvest: arXiv's OAI-PMH sets that hold the categories (arxiv_categories.sets_for), page
   after page through the polite client (its spacing and retries), in a thread;
2. import: the records of the asked categories and dates, stored by the shared upsert while
   the next pages are fetched; the lexical index is written with each batch (the
   `papers_changed` signal), in a second process on SQLite (lexical_pipeline);
3. embed: vectors for every paper that has none, then the vector index (indexing.embed_missing);
4. keywords: for every paper that has none (keywords.keyword_missing).

Embedding and keywords are CPU-bound and run after the import: on two cores they would only
take turns with it. What a run does is what is missing: the harvest of a set, categories and
start date resumes from the resumption token stored after each batch (a killed run), or, once
finished, asks only for records changed since the newest datestamp it saw; stored papers come
back unchanged, and only papers without vectors or keywords are embedded or given keywords.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import queue
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from tqdm import tqdm
from tqdm.contrib.logging import logging_redirect_tqdm

from broadsheet.ingest import arxiv_categories, jobs
from broadsheet.ingest.arxiv_oai import OaiPage
from broadsheet.ingest.http import PoliteClient
from broadsheet.ingest.models import HarvestState
from broadsheet.ingest.records import PaperRecord, Rejected
from broadsheet.ingest.upsert import BATCH_SIZE, Counts, Upserter
from broadsheet.papers.models import Paper
from broadsheet.papers.signals import bulk_changes
from broadsheet.search.indexing import count_missing, embed_missing
from broadsheet.search.keywords import keyword_missing

log = logging.getLogger("broadsheet.ingest")

# Pages fetched ahead of the import, at most (arXiv's pages hold 1000 records): enough for
# one upsert batch, so that with a fast source the import stores big batches.
PREFETCH_PAGES = 20
STAGES = (
    ("harvest", "records"), ("import", "records"), ("embed", "papers"), ("keywords", "papers"),
)  # fmt: skip


@dataclass
class BackfillCounts:
    pages: int = 0
    harvested: int = 0  # records the source sent
    kept: int = 0  # of those, in the asked categories and dates (deletions included)
    stored: Counts = field(default_factory=Counts)
    indexed: int = 0  # papers given a search document they lacked (a path with no signal)
    embedded: int = 0
    keywords: int = 0
    seconds: dict[str, float] = field(default_factory=dict)

    def __str__(self) -> str:
        return (
            f"harvest: {self.pages} pages, {self.harvested} records, {self.kept} in the asked "
            f"categories and dates; import: {self.stored}; embed: {self.embedded} papers"
            f" ({self.indexed} newly indexed); keywords: {self.keywords} papers"
        )


class Display:
    """One progress display: a line per stage with its count, rate and ETA (when its total is
    known), the stages under way drawn below the finished ones. Drawn only when stderr is a
    terminal, like every progress bar here."""

    def __init__(self, stages: Sequence[tuple[str, str]] = STAGES) -> None:
        self.units = dict(stages)
        self.bars: dict[str, tqdm] = {}

    def start(self, stage: str, total: int | None = None) -> tqdm:
        """A stage begins: its clock (and rate) start now."""
        self.bars[stage] = tqdm(
            desc=f"{stage:<8}", total=total, unit=f" {self.units[stage]}", disable=None,
            file=sys.stderr, smoothing=0.1, dynamic_ncols=True,
        )  # fmt: skip
        return self.bars[stage]

    def finish(self, stage: str) -> None:
        """A stage is done: its line stays, with the rate it ended at."""
        self.bars[stage].close()

    def add_total(self, stage: str, more: int) -> None:
        bar = self.bars[stage]
        bar.total = (bar.total or 0) + more
        bar.refresh()

    def close(self) -> None:
        for bar in self.bars.values():
            bar.close()

    def __enter__(self) -> Display:
        # Log lines go above the display instead of through it (while it is drawn).
        self._logs = logging_redirect_tqdm()
        self._logs.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self.close()
        self._logs.__exit__(*exc)


def state_name(set_spec: str, wanted: frozenset[str], since: dt.date | None) -> str:
    """The HarvestState row of one set, categories and start date: a run asking for the same
    continues it; one asking for other categories or dates harvests anew."""
    name = f"backfill:{set_spec}:{','.join(sorted(wanted))}:{since or 'all'}"
    if len(name) > 100:  # HarvestState.name's length
        digest = hashlib.sha256(name.encode()).hexdigest()[:16]
        name = f"backfill:{set_spec}:{digest}:{since or 'all'}"
    return name


def wanted_record(
    item: PaperRecord | Rejected, wanted: frozenset[str], since: dt.date | None
) -> bool:
    """Records to import: papers in the asked categories published since `since`, deletions
    (they hide a paper only if it is stored) and unreadable records (counted as rejected)."""
    if isinstance(item, Rejected) or item.deleted:
        return True
    if not arxiv_categories.matches(item.categories, wanted):
        return False
    return since is None or item.published_at is None or item.published_at.date() >= since


class _Failed:
    def __init__(self, error: BaseException) -> None:
        self.error = error


_END = object()


class Prefetch:
    """Pages fetched by a thread while the caller stores the earlier ones; the caller takes
    them in groups of what is ready, so it stores bigger batches when the source is fast."""

    def __init__(self, pages: Iterator[OaiPage], depth: int = PREFETCH_PAGES) -> None:
        self.queue: queue.Queue = queue.Queue(maxsize=depth)
        self.stop = threading.Event()
        self.thread = threading.Thread(
            target=self._fetch, args=(pages,), name="backfill-harvest", daemon=True
        )
        self.thread.start()

    def _fetch(self, pages: Iterator[OaiPage]) -> None:
        try:
            for page in pages:
                if not self._put(page):
                    return
        except BaseException as e:  # handed to the caller, which raises it
            self._put(_Failed(e))
        else:
            self._put(_END)

    def _put(self, item: object) -> bool:
        while not self.stop.is_set():
            try:
                self.queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def groups(self, max_records: int = BATCH_SIZE) -> Iterator[list[OaiPage]]:
        """The pages in order: each group is at least one page, plus those already fetched,
        up to `max_records`. A fetch error comes after the pages fetched before it."""
        while True:
            group: list[OaiPage] = []
            size = 0
            item = self.queue.get()
            while True:
                if item is _END or isinstance(item, _Failed):
                    break
                group.append(item)
                size += len(item.records)
                if size >= max_records:
                    break
                try:
                    item = self.queue.get_nowait()
                except queue.Empty:
                    break
            if group:
                yield group
            if isinstance(item, _Failed):
                raise item.error
            if item is _END:
                return

    def close(self) -> None:
        self.stop.set()
        # A thread waiting on the source (its spacing, a retry) ends with its request.
        self.thread.join(timeout=1)


def harvest_set(
    client: PoliteClient,
    set_spec: str,
    wanted: frozenset[str],
    since: dt.date | None,
    upserter: Upserter,
    counts: BackfillCounts,
    display: Display,
) -> None:
    """Harvest one OAI set into the database, keeping the records in `wanted`. The resumption
    token is stored after each batch is committed: a killed run continues from the next page
    (a page fetched again is stored again unchanged)."""
    state, _ = HarvestState.objects.get_or_create(name=state_name(set_spec, wanted, since))
    token = state.resumption_token
    if token:
        log.info("backfill %s: resuming an interrupted harvest", set_spec)
    else:
        state.started_from = state.last_datestamp or since
        state.save()
    newest = state.last_datestamp
    harvest_bar, import_bar = display.bars["harvest"], display.bars["import"]
    sized = False

    def fetched(pages: Iterator[OaiPage]) -> Iterator[OaiPage]:
        # In the fetching thread: the harvest line moves as pages arrive.
        nonlocal sized
        for page in pages:
            if not sized and page.list_size is not None:
                display.add_total("harvest", page.list_size - (page.cursor or 0))
                sized = True
            harvest_bar.update(len(page.records))
            yield page

    pages = Prefetch(fetched(jobs.oai_pages(client, set_spec, state.started_from, token)))
    try:
        for group in pages.groups():
            records = []
            for page in group:
                counts.pages += 1
                counts.harvested += len(page.records)
                records += [r for r in page.records if wanted_record(r, wanted, since)]
                if page.newest:
                    newest = max(newest or page.newest, page.newest)
            started = time.monotonic()
            upserter.run(records)  # commits batch by batch
            counts.seconds["import"] = counts.seconds.get("import", 0) + time.monotonic() - started
            counts.kept += len(records)
            import_bar.update(len(records))
            state.resumption_token = group[-1].token
            state.save(update_fields=["resumption_token", "updated"])
    finally:
        pages.close()
    state.last_datestamp = newest
    state.resumption_token = ""
    state.save()


def backfill(
    categories: Sequence[str],
    since: dt.date | None = None,
    keywords: bool = True,
    client: PoliteClient | None = None,
) -> BackfillCounts:
    """Harvest, import, embed and give keywords to every paper of `categories` (categories
    such as cs.LG, or whole archives such as cs) published since `since`. Raises
    arxiv_categories.UnknownCategory for a category arXiv does not have."""
    sets = arxiv_categories.sets_for(categories)
    client = client or jobs.arxiv_client()
    counts = BackfillCounts()
    upserter = Upserter()
    stages = STAGES if keywords else STAGES[:3]
    with Display(stages) as display:
        started = time.monotonic()
        display.start("harvest")
        display.start("import")
        with bulk_changes():  # one import run: the lexical index written beside it
            for set_spec, wanted in sets.items():
                harvest_set(client, set_spec, wanted, since, upserter, counts, display)
        counts.stored = upserter.counts
        counts.seconds["harvest"] = time.monotonic() - started
        display.finish("harvest")
        display.finish("import")

        started = time.monotonic()
        bar = display.start("embed", total=count_missing())
        # A model process per core, as `broadsheet embed` runs it (from POOL_MIN papers on).
        embedded = embed_missing(workers=os.cpu_count() or 1, on_batch=bar.update)
        counts.embedded, counts.indexed = embedded.embedded, embedded.indexed
        counts.seconds["embed"] = time.monotonic() - started
        display.finish("embed")

        if keywords:
            started = time.monotonic()
            bar = display.start(
                "keywords", total=Paper.objects.filter(ai_keywords__isnull=True).count()
            )
            counts.keywords = keyword_missing(on_batch=bar.update).papers
            counts.seconds["keywords"] = time.monotonic() - started
            display.finish("keywords")
    log.info("backfill %s finished: %s", ",".join(categories), counts)
    return counts
