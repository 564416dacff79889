"""Library entries to papers: by arXiv id, then DOI, then normalised title; arXiv entries this
site does not have are fetched from arXiv (the polite client, ids in batches) and stored.

Titles are looked up through the lexical index (the title's words; the few best hits are
compared once normalised), the way search pins an exact title: no scan of the paper table.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.conf import settings

from broadsheet.ingest.normalise import normalise_arxiv_id
from broadsheet.ingest.records import PaperRecord
from broadsheet.library.entries import LibraryEntry, normal_title
from broadsheet.papers.models import Paper

log = logging.getLogger("broadsheet.library")

IN_CHUNK = 900  # values per IN (...) list: under SQLite's historical 999 parameters
ARXIV_BATCH = 100  # ids per arXiv API request
TITLE_CANDIDATES = 5  # best lexical hits compared with a title


@dataclass
class Matches:
    """What became of each entry: a paper id, or why not."""

    papers: dict[int, int] = field(default_factory=dict)  # entry index -> paper id
    fetched: set[int] = field(default_factory=set)  # entry indexes whose paper was fetched
    notes: list[str] = field(default_factory=list)  # about the whole import (arXiv down...)
    # False when some titles were not looked up (the time allowed ran out, the index failed):
    # the import then adds what it found and removes nothing.
    complete: bool = True


def _chunks(values: Sequence, size: int = IN_CHUNK):
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _by_arxiv(ids: set[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for chunk in _chunks(sorted(ids)):
        found.update(Paper.objects.filter(arxiv_id__in=chunk).values_list("arxiv_id", "id"))
    return found


def _by_doi(dois: set[str]) -> dict[str, int]:
    # DOIs are case-insensitive; stored ones are mostly all-lower or all-upper (as search's
    # pinned_ids assumes): an indexed IN over the spellings, not a scan with UPPER().
    spellings = sorted({s for d in dois for s in (d, d.lower(), d.upper())})
    found: dict[str, int] = {}
    for chunk in _chunks(spellings):
        for doi, pid in Paper.objects.filter(doi__in=chunk).values_list("doi", "id"):
            found.setdefault(doi.lower(), pid)
    return found


def _late(deadline: float | None) -> bool:
    return deadline is not None and time.monotonic() > deadline


def _plain_words(title: str) -> str:
    """The title's ordinary words, without acronyms and mixed-case names ("GNNs", "LSTMs",
    "BERT", "4D"), whose plurals the lexical index does not always stem as a query does."""
    words = [w for w in re.split(r"[^\w]+|_", title or "") if w]
    plain = [w for w in words if w.isalpha() and (w.islower() or w[1:].islower())]
    return normal_title(" ".join(plain))


def _by_title(titles: dict[str, str], deadline: float | None = None) -> tuple[dict[str, int], bool]:
    """(normal title -> paper id for the titles the lexical index finds exactly, whether
    every title was looked up before the deadline). `titles` maps each normal title to the
    title as written; when its words find no paper of that title, its ordinary words alone
    are tried once more."""
    from broadsheet.search.backends import get_backend
    from broadsheet.search.query import parse
    from broadsheet.search.results import Filters

    backend = get_backend()
    found: dict[str, int] = {}

    def look(wanted: str, words: str) -> int | None:
        hits = backend.lexical(parse(words[:300]), Filters(), TITLE_CANDIDATES)
        ids = [pid for pid, _ in hits]
        for pid, title in Paper.objects.filter(pk__in=ids).values_list("id", "title"):
            if normal_title(title) == wanted:
                return pid
        return None

    for wanted, written in titles.items():
        if _late(deadline):
            return found, False
        if len(wanted) < 8 or len(wanted.split()) < 2:
            continue  # "Introduction": a title this short names no paper on its own
        pid = look(wanted, wanted)
        plain = _plain_words(written)
        if pid is None and plain != wanted and len(plain.split()) >= 2:
            pid = look(wanted, plain)
        if pid is not None:
            found[wanted] = pid
    return found, True


def fetch_arxiv(
    ids: list[str], deadline: float | None = None
) -> tuple[list[PaperRecord], list[str]]:
    """(arXiv's records for these ids, the ids not asked for because the deadline passed),
    ARXIV_BATCH ids a request, spaced as arXiv asks."""
    from broadsheet.ingest.arxiv_api import parse_feed
    from broadsheet.ingest.http import PoliteClient

    client = PoliteClient(min_interval=settings.ARXIV_REQUEST_INTERVAL, retries=1, timeout=20)
    records: list[PaperRecord] = []
    for start in range(0, len(ids), ARXIV_BATCH):
        if _late(deadline):
            return records, ids[start:]
        chunk = ids[start : start + ARXIV_BATCH]
        params = {"id_list": ",".join(chunk), "max_results": len(chunk)}
        page = parse_feed(client.get(settings.ARXIV_API_URL, params))
        records += [r for r in page.records if isinstance(r, PaperRecord) and r.title.strip()]
    return records, []


def match(entries: list[LibraryEntry], fetch_max: int, deadline: float | None = None) -> Matches:
    """`deadline` (time.monotonic()) bounds an import made while a page waits."""
    from broadsheet.ingest.arxiv_api import SourceError
    from broadsheet.ingest.http import FetchError
    from broadsheet.ingest.upsert import Upserter

    result = Matches()
    arxiv = {i: normalise_arxiv_id(e.arxiv_id or "")[0] for i, e in enumerate(entries)}
    known = _by_arxiv({a for a in arxiv.values() if a})
    for i, a in arxiv.items():
        if a in known:
            result.papers[i] = known[a]

    dois = {i: e.doi.lower() for i, e in enumerate(entries) if e.doi and i not in result.papers}
    known = _by_doi(set(dois.values()))
    for i, doi in dois.items():
        if doi in known:
            result.papers[i] = known[doi]

    titles = {
        i: normal_title(e.title)
        for i, e in enumerate(entries)
        if e.title and i not in result.papers and not arxiv[i]
    }
    try:
        written = {title: entries[i].title for i, title in titles.items()}
        known, every_title = _by_title(written, deadline)
    except Exception:  # the search index is a help here; without it titles go unmatched
        log.exception("library import: title look-up failed")
        result.notes.append(
            "Titles could not be looked up (the search index failed); nothing was removed."
        )
        known, result.complete = {}, False
    else:
        if not every_title:
            result.complete = False
            result.notes.append(
                "Not every title could be looked up in the time a page has; what was found is "
                "added and nothing removed. Import again, or ask an administrator to run "
                "`broadsheet import-library`, which has no time limit."
            )
    for i, title in titles.items():
        if title in known:
            result.papers[i] = known[title]

    wanted = sorted({arxiv[i] for i in range(len(entries)) if arxiv[i] and i not in result.papers})
    if len(wanted) > fetch_max:
        result.notes.append(
            f"{len(wanted)} arXiv papers are not on this site yet; {fetch_max} were fetched "
            "(the most one import fetches). Import again to fetch more."
        )
        wanted = wanted[:fetch_max]
    if wanted:
        try:
            records, skipped = fetch_arxiv(wanted, deadline)
        except (FetchError, SourceError, OSError) as e:
            result.notes.append(f"arXiv could not be reached ({e}); import again later.")
            records, skipped = [], []
        if skipped:
            # Papers the site does not have were in no collection yet: nothing to protect.
            result.notes.append(
                f"{len(skipped)} arXiv papers were not fetched in the time a page has; "
                "import again to fetch them."
            )
        if records:
            Upserter().run(records)
            stored = _by_arxiv(set(wanted))
            for i, a in arxiv.items():
                if a in stored and i not in result.papers:
                    result.papers[i] = stored[a]
                    result.fetched.add(i)
    return result
