"""Importing a library into a member's collection.

One collection per library source (Collection.source): the first import makes it, named
after the source; importing the same source again updates it to hold exactly the papers the
library now matches (new ones added, ones gone from the library removed), never a second
collection. Papers keep the date they entered the library when the format says, so that For
you's "most recent likes" follow the member's library rather than the import's clock.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from broadsheet.library.entries import LibraryError, ParsedLibrary
from broadsheet.library.matching import match
from broadsheet.papers.collections import MAX_PER_MEMBER, CollectionError, clean_name
from broadsheet.papers.models import Collection, CollectionItem

PROBLEMS_SHOWN = 20  # unreadable records listed in a report; the rest are counted


@dataclass
class ImportReport:
    collection: Collection
    created: bool
    entries: int
    matched: int  # papers this site had
    fetched: int  # papers fetched from arXiv for this import
    not_found: list[str] = field(default_factory=list)  # entries' titles (or ids)
    added: int = 0
    removed: int = 0
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        """The report as lines of text (the CLI prints them; the page shows the same)."""
        out = [
            f"{self.entries} entries: {self.matched} matched, {self.fetched} fetched from "
            f"arXiv, {len(self.not_found)} not found.",
            f"Collection “{self.collection.name}”: {self.added} added, {self.removed} removed"
            f"{' (new)' if self.created else ''}.",
        ]
        out += self.notes
        if self.problems:
            out.append(f"{len(self.problems)} records could not be read:")
            out += [f"  {p}" for p in self.problems[:PROBLEMS_SHOWN]]
            if len(self.problems) > PROBLEMS_SHOWN:
                out.append(f"  and {len(self.problems) - PROBLEMS_SHOWN} more")
        if self.not_found:
            out.append("Not found:")
            out += [f"  {title}" for title in self.not_found]
        return out


def _problems_text(problems: list[str]) -> str:
    shown = "; ".join(problems[:5])
    more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
    return f"{shown}{more}"


def _collection(user, source: str, name: str) -> tuple[Collection, bool]:
    found = Collection.objects.filter(owner=user, source=source).first()
    if found is not None:
        return found, False
    try:
        base = clean_name(name)[: Collection.NAME_MAX - 6]
    except CollectionError:
        base = "Imported library"
    taken = {n.lower() for n in Collection.objects.owned_by(user).values_list("name", flat=True)}
    chosen, n = base, 2
    while chosen.lower() in taken:
        chosen, n = f"{base} ({n})", n + 1
    try:
        with transaction.atomic():
            return Collection.objects.create(owner=user, name=chosen, source=source), True
    except IntegrityError:  # the same import running at once made it first
        return Collection.objects.get(owner=user, source=source), False


def import_library(
    user,
    source: str,
    name: str,
    parsed: ParsedLibrary,
    *,
    fetch_max: int | None = None,
    deadline: float | None = None,
    now: dt.datetime | None = None,
) -> ImportReport:
    """Match the entries, fetch what arXiv has, and bring the source's collection up to date.

    LibraryError when there is nothing to import (an empty or wholly unreadable library, or
    one over the entry limit); then nothing is changed. Past `deadline` (time.monotonic())
    no more titles are looked up nor papers fetched; such an import removes nothing."""
    now = now or timezone.now()
    entries = [e for e in parsed.entries if e.title or e.arxiv_id or e.doi]
    problems = list(parsed.problems) + [
        f"{e.where}: no title, DOI or arXiv id"
        for e in parsed.entries
        if not (e.title or e.arxiv_id or e.doi)
    ]
    if not entries:
        if problems:
            raise LibraryError(f"No entry could be read: {_problems_text(problems)}")
        raise LibraryError("The library holds no entries.")
    if len(entries) > settings.LIBRARY_MAX_ENTRIES:
        raise LibraryError(
            f"The library has {len(entries)} entries; at most {settings.LIBRARY_MAX_ENTRIES} "
            "are imported at once. Export a collection of it instead."
        )
    mine = Collection.objects.owned_by(user)
    if not mine.filter(source=source).exists() and mine.count() >= MAX_PER_MEMBER:
        raise LibraryError(
            f"You have {MAX_PER_MEMBER} collections, the most a member may: delete one to "
            "import another library."
        )
    fetch_max = settings.LIBRARY_FETCH_MAX if fetch_max is None else fetch_max
    found = match(entries, fetch_max, deadline)
    added_at: dict[int, dt.datetime] = {}
    for i, pid in found.papers.items():
        when = entries[i].added or now
        added_at[pid] = min(when, added_at.get(pid, when))
    with transaction.atomic():
        collection, created = _collection(user, source, name)
        held = set(collection.items.values_list("paper_id", flat=True))
        new = [pid for pid in added_at if pid not in held]
        CollectionItem.objects.bulk_create(
            [
                CollectionItem(collection=collection, paper_id=pid, added=added_at[pid])
                for pid in new
            ],
            ignore_conflicts=True,
        )
        gone = held - set(added_at) if found.complete else set()
        if gone:
            collection.items.filter(paper_id__in=gone).delete()
        collection.imported_at = now
        collection.save(update_fields=["imported_at", "modified"])
    fetched_papers = {found.papers[i] for i in found.fetched}
    return ImportReport(
        collection=collection,
        created=created,
        entries=len(entries),
        matched=len(set(found.papers.values()) - fetched_papers),
        fetched=len(fetched_papers),
        not_found=[e.label for i, e in enumerate(entries) if i not in found.papers],
        added=len(new),
        removed=len(gone),
        problems=problems,
        notes=found.notes,
    )
