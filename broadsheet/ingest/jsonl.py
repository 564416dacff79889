"""Our own JSON Lines format: one paper per line, the fields of PaperRecord.

    {"arxiv_id": "2401.01234", "arxiv_version": 2, "title": "...", "abstract": "...",
     "authors": ["Ada Lovelace", "..."], "categories": ["cs.LG"], "primary_category": "cs.LG",
     "published_at": "2024-01-03T18:00:00+00:00", ..., "listing_day": "2024-01-04"}

Only `title` and one of `arxiv_id`, `doi` or `slug` are required; see docs/jsonl.md.
`broadsheet export jsonl` writes the same format, so export then import round-trips.
"""

from __future__ import annotations

import collections
import itertools
import json
import multiprocessing
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from typing import IO

from django.db.models import Prefetch

from broadsheet.ingest import parse_worker
from broadsheet.ingest.jsonl_lines import read_jsonl
from broadsheet.ingest.records import PaperRecord, Rejected
from broadsheet.papers.models import Authorship, Listing, Paper

# Lines per chunk sent to the parsing process, chunks read before deciding to start it, and
# chunks parsed ahead of the records being stored.
PARSE_CHUNK = 2000
PARALLEL_AFTER = 3
PARSE_AHEAD = 4


def read_jsonl_file(
    stream: IO[bytes], name: str = "", chunk: int = PARSE_CHUNK
) -> Iterator[PaperRecord | Rejected]:
    """read_jsonl, with the lines parsed and validated in a second process once the input
    is longer than a few chunks: on two cores, storing (this process) and parsing (the
    other) overlap. Records come back in file order, already validated."""
    chunks = _line_chunks(stream, chunk)
    head = list(itertools.islice(chunks, PARALLEL_AFTER))
    if len(head) < PARALLEL_AFTER:  # small input: a second process is not worth starting
        for first, lines in head:
            yield from read_jsonl(lines, name, first)
        return
    context = multiprocessing.get_context("spawn")  # no fork of a process running threads
    with ProcessPoolExecutor(1, mp_context=context, initializer=parse_worker.start) as pool:
        pending: collections.deque = collections.deque()
        for first, lines in itertools.chain(head, chunks):
            pending.append(pool.submit(parse_worker.parse_chunk, lines, name, first))
            if len(pending) > PARSE_AHEAD:  # bounded: never the whole file in memory
                yield from pending.popleft().result()
        while pending:
            yield from pending.popleft().result()


def _line_chunks(stream: IO[bytes], size: int) -> Iterator[tuple[int, list[bytes]]]:
    number = 1
    while True:
        lines = list(itertools.islice(stream, size))
        if not lines:
            return
        yield number, lines
        number += len(lines)


def paper_record(paper: Paper) -> PaperRecord:
    listing = getattr(paper, "listing", None)
    names = [a.author.name for a in paper.authorships.all()]
    return PaperRecord(
        title=paper.title,
        abstract=paper.abstract,
        arxiv_id=paper.arxiv_id,
        arxiv_version=paper.arxiv_version,
        doi=paper.doi,
        slug=None if paper.arxiv_id or paper.doi else paper.slug,
        authors=names,
        author_count=None if names else paper.author_count,
        primary_category=paper.primary_category,
        categories=list(paper.categories),
        published_at=paper.published_at,
        updated_at=paper.updated_at,
        comment=paper.comment,
        journal_ref=paper.journal_ref,
        abs_url=paper.abs_url,
        pdf_url=paper.pdf_url,
        project_url=paper.project_url,
        github_repo=paper.github_repo,
        source_upvotes=paper.source_upvotes,
        listing_day=listing.day if listing else None,
        listed_at=listing.submitted_at if listing else None,
        listing_source=listing.source if listing else Listing.Source.IMPORT,
        hidden=paper.hidden,
    )


def export_jsonl(out: IO[str], papers=None, progress=None) -> int:
    """Write every paper (or the given QuerySet) as JSON Lines; returns the count."""
    papers = papers if papers is not None else Paper.objects.all()
    # Authorships with their authors in one query: prefetching `authorships__author` asks
    # for the authors as `id = .. OR id = ..`, which SQLite refuses past 1000 terms.
    authorships = Prefetch("authorships", Authorship.objects.select_related("author"))
    papers = papers.select_related("listing").prefetch_related(authorships).order_by("pk")
    n = 0
    for paper in papers.iterator(chunk_size=2000):
        data = {k: v for k, v in paper_record(paper).to_json().items() if v not in (None, "", [])}
        out.write(json.dumps(data, ensure_ascii=False, sort_keys=True) + "\n")
        n += 1
        if progress is not None:
            progress.update(1)
    return n
