"""Spelling correction against the words of the papers as they are written.

The vocabulary is every word of the papers' titles and abstracts, lower-cased, as it occurs
("segmentation", "autoencoders"; not the stems the lexical indexes hold, which a typed word
cannot be compared with), with how many papers hold it (search_word). The same tables and
code serve SQLite and PostgreSQL.

- Counting: a search document whose text is new or changed has no `words_counted_at`;
  `count_pending()` adds its words and stamps it. `index_papers` counts right away; inside
  a bulk change (an import) a small run is counted when it ends and a large one is left to
  `broadsheet embed` (which the worker runs after each ingest): counting costs about 50 us
  a paper, a sixth of what a 1M-paper import spends on each.
  `broadsheet reindex` counts everything afresh (the only way words of deleted papers and
  of replaced abstracts leave the counts).
- Correcting: each process holds the MAX_WORDS most common words, grouped by length and
  first letter, and reloads them when the token in search_spelling changed. A typed word
  that is absent from the vocabulary, or very rare beside a much more common neighbour, is
  replaced by the vocabulary word nearest in optimal-string-alignment distance
  (Damerau-Levenshtein with adjacent transpositions; at most 1 edit for words of up to 5
  letters, 2 beyond), the more common one among equally near. rapidfuzz computes the
  distances (bit-parallel, in C++, stopping at the cut-off) over the words of lengths
  within reach only, those with the typed word's first letter first. Failing any, the
  most common longer word whose start is one edit away ("built": building). bench/spelling.py
  measures it at a vocabulary of 1M words.
"""

from __future__ import annotations

import logging
import re
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.db import connection, transaction
from django.utils import timezone
from rapidfuzz import process
from rapidfuzz.distance import OSA

from broadsheet.search.backends import get_backend
from broadsheet.search.backends.base import document_id_batches, in_list

MIN_LENGTH = 4  # shorter words are not corrected: too many neighbours
MAX_LENGTH = 40  # longer "words" are formulas, URLs or noise (and the column's size)
MAX_WORDS = 500_000  # the most common words held in memory as candidates
RARE_DOCS = 3  # a word in at most this many papers may still be a typo...
RARE_RATIO = 20  # ...if a neighbour is in at least this many times as many
COUNT_BATCH = 5000  # papers counted per transaction

log = logging.getLogger("broadsheet.search")
_WORD = re.compile(r"[^\W_]+")
_local = threading.local()


def surface_words(text: str) -> set[str]:
    """The distinct words of a text as the vocabulary holds them: lower-case runs of
    letters and digits (how query.words_of splits a query), not numbers alone."""
    return {w for w in _WORD.findall(text.lower()) if len(w) <= MAX_LENGTH and not w.isdigit()}


# Counting ---------------------------------------------------------------------------------


@dataclass
class _Deferred:
    ids: list[int] = field(default_factory=list)
    too_many: bool = False


@contextmanager
def deferred() -> Iterator[None]:
    """Within this block (a bulk change: an import) indexed papers are counted when it
    ends, if they are few (at most COUNT_BATCH); a large run's are left to
    `count_pending()` in `broadsheet embed`, which the worker runs after each ingest."""
    if getattr(_local, "run", None) is not None:
        yield
        return
    run = _local.run = _Deferred()
    try:
        yield
    finally:
        _local.run = None
    if run.ids and not run.too_many:
        count_pending(run.ids)


def count_or_defer(paper_ids: Sequence[int]) -> None:
    """Count the words of these just-indexed papers now, or within deferred() later."""
    run: _Deferred | None = getattr(_local, "run", None)
    if run is None:
        count_pending(paper_ids)
    elif not run.too_many:
        run.ids.extend(paper_ids)
        if len(run.ids) > COUNT_BATCH:
            run.ids, run.too_many = [], True


def count_pending(paper_ids: Sequence[int] | None = None) -> int:
    """Add the words of the documents not yet counted (of these papers, or all) to the
    vocabulary, a batch per transaction; returns how many documents were counted.

    Each batch is claimed first (stamped, in the same transaction), so two processes
    counting at once never count a document twice; a text changed meanwhile is unstamped
    by its indexing once this commits, and counted again."""
    done, last = 0, -1
    among = f" AND paper_id IN {in_list(paper_ids)}" if paper_ids is not None else ""
    while True:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(
                    "UPDATE search_document SET words_counted_at = %s "
                    "WHERE words_counted_at IS NULL AND paper_id IN (SELECT paper_id FROM "
                    f"search_document WHERE words_counted_at IS NULL AND paper_id > %s{among} "
                    "ORDER BY paper_id LIMIT %s) RETURNING paper_id",
                    [timezone.now(), last, COUNT_BATCH],
                )
                claimed = sorted(r[0] for r in cursor.fetchall())
            if not claimed:
                break
            _add(_count_texts(claimed))
        done += len(claimed)
        last = claimed[-1]
    return done


def _count_texts(paper_ids: Sequence[int]) -> Counter[str]:
    """How many of these papers hold each word of their titles and abstracts."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT title, abstract FROM papers_paper WHERE id IN {in_list(paper_ids)}")
        rows = cursor.fetchall()
    counts: Counter[str] = Counter()
    for title, abstract in rows:
        counts.update(surface_words(f"{title or ''} {abstract or ''}"))
    return counts


def _add(counts: Counter[str]) -> None:
    """Add these document counts to search_word (the backend's upsert), and mark the change."""
    if not counts:
        return
    words = sorted(counts)  # one order for every writer: no deadlock on shared words
    get_backend().add_word_counts(words, [counts[w] for w in words])
    with connection.cursor() as cursor:
        _new_token(cursor)


def recount() -> int:
    """Empty the vocabulary and count every document again (`broadsheet reindex`). Not
    one transaction: searches meanwhile see a vocabulary still filling up, for a while
    correcting less."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM search_word")
        _new_token(cursor)
    done = 0
    for ids in document_id_batches(COUNT_BATCH):
        with transaction.atomic(), connection.cursor() as cursor:
            _add(_count_texts(ids))
            # Stamped already ones are not written again.
            cursor.execute(
                "UPDATE search_document SET words_counted_at = %s "
                f"WHERE paper_id IN {in_list(ids)} AND words_counted_at IS NULL",
                [timezone.now()],
            )
        done += len(ids)
    return done


def _new_token(cursor) -> None:
    cursor.execute(
        "INSERT INTO search_spelling (id, token) VALUES (1, %s) "
        "ON CONFLICT (id) DO UPDATE SET token = excluded.token",
        [uuid.uuid4().hex],
    )


# Correcting -------------------------------------------------------------------------------


Bucket = tuple[list[str], list[int]]  # words and their document counts, most common first


@dataclass
class Vocabulary:
    """The words by length, then by first letter."""

    buckets: dict[int, dict[str, Bucket]]

    @classmethod
    def of(cls, rows: Iterable[tuple[str, int]]) -> Vocabulary:
        buckets: dict[int, dict[str, Bucket]] = {}
        for word, docs in rows:
            words, counts = buckets.setdefault(len(word), {}).setdefault(word[0], ([], []))
            words.append(word)
            counts.append(docs)
        return cls(buckets)

    def __len__(self) -> int:
        return sum(len(b[0]) for by_first in self.buckets.values() for b in by_first.values())

    def nearest(self, word: str) -> tuple[str, int] | None:
        """The closest word within reach of `word` and its count, preferring the nearer,
        then one with the same first letter, then the more common; None when none is near
        enough. Words starting as `word` does are searched first (a first letter is seldom
        the one mistyped): only when none is one edit away are the others searched, for a
        nearer word than the best so far."""
        reach = max_edits(word)
        best = self._best(word, reach, lambda first: first == word[0])
        if best is None or best[0] > 1:
            limit = reach if best is None else best[0] - 1
            other = self._best(word, limit, lambda first: first != word[0])
            if other is not None:
                best = other
        if best is None:
            best = self._completion(word)
        return (best[2], -best[1]) if best else None

    def _completion(self, word: str) -> tuple[int, int, str] | None:
        """Failing a near word, the most common longer word whose start is at most one edit
        from `word` (an irregular form, "built" for building, or a word half typed)."""
        best = None
        for length, by_first in self.buckets.items():
            if length <= len(word) + max_edits(word):
                continue
            words, counts = by_first.get(word[0], ((), ()))
            if not words:
                continue
            starts = [w[: len(word)] for w in words]
            found = process.extract(word, starts, scorer=OSA.distance, score_cutoff=1, limit=None)
            for _, distance, i in found:
                key = (int(distance), -counts[i], words[i])
                if best is None or key < best:
                    best = key
        return best

    def _best(self, word: str, reach: int, starts) -> tuple[int, int, str] | None:
        """(distance, -count, word) of the best candidate in the buckets of lengths within
        reach whose first letter passes `starts`."""
        best = None
        for length in range(len(word) - reach, len(word) + reach + 1):
            for first, (words, counts) in self.buckets.get(length, {}).items():
                if not starts(first):
                    continue
                found = process.extract(
                    word, words, scorer=OSA.distance, score_cutoff=reach, limit=None
                )
                for candidate, distance, i in found:
                    key = (int(distance), -counts[i], candidate)
                    if candidate != word and (best is None or key < best):
                        best = key
        return best


def max_edits(word: str) -> int:
    return 1 if len(word) <= 5 else 2


_cache: tuple[str, Vocabulary] | None = None
_cache_lock = threading.Lock()
_reloading = threading.Event()  # a reload thread is running
_reloaded_at = float("-inf")  # time.monotonic() of the last load
# Loading a large vocabulary takes seconds (500k words): a process that has one keeps
# answering with it while a thread loads the new one, at most once every RELOAD_EVERY
# seconds, so no search waits for a reload. A small one is reloaded at once.
BACKGROUND_RELOAD_WORDS = 50_000
RELOAD_EVERY = 60.0


def _token() -> str | None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT token FROM search_spelling WHERE id = 1")
        row = cursor.fetchone()
    return row[0] if row else None


def vocabulary() -> Vocabulary:
    """This database's vocabulary (its MAX_WORDS most common words), loaded once per change
    of the vocabulary in each process (a large one in the background, the old one serving)."""
    token = _token()
    if token is None:
        return Vocabulary({})
    cached = _cache
    if cached is not None and cached[0] == token:
        return cached[1]
    if cached is not None and len(cached[1]) >= BACKGROUND_RELOAD_WORDS:
        _reload_in_background()
        return cached[1]
    with _cache_lock:
        if _cache is not None and _cache[0] == token:
            return _cache[1]
        return _load()


def _load() -> Vocabulary:
    """Read the token, then the words (at least as new as the token: a change in between
    only makes the next call load again); the caller holds _cache_lock. No transaction:
    SQLite's are BEGIN IMMEDIATE and would hold writers off for the whole read."""
    global _cache, _reloaded_at
    token = _token()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT word, docs FROM search_word WHERE docs > 0 ORDER BY docs DESC, word LIMIT %s",
            [MAX_WORDS],
        )
        loaded = Vocabulary.of(cursor.fetchall())
    _cache = (token or "", loaded)
    _reloaded_at = time.monotonic()
    return loaded


def _reload_in_background() -> None:
    if _reloading.is_set() or time.monotonic() - _reloaded_at < RELOAD_EVERY:
        return
    _reloading.set()

    def reload() -> None:
        try:
            with _cache_lock:
                _load()
        except Exception:  # the old vocabulary keeps serving; the next change tries again
            log.exception("reloading the spelling vocabulary failed")
        finally:
            connection.close()  # this thread's own connection
            _reloading.clear()

    threading.Thread(target=reload, name="spelling-reload", daemon=True).start()


def _counts(words: list[str]) -> dict[str, int]:
    """How many papers hold each of these words (0 for one the vocabulary lacks)."""
    if not words:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT word, docs FROM search_word WHERE word IN ({', '.join(['%s'] * len(words))})",
            words,
        )
        found = dict(cursor.fetchall())
    return {w: found.get(w, 0) for w in words}


def correctable(word: str) -> bool:
    return len(word) >= MIN_LENGTH and len(word) <= MAX_LENGTH and word.isalpha()


def corrections(words: Iterable[str], matched: bool = False) -> dict[str, str]:
    """Typed word -> the vocabulary word meant, for the words that look misspelt: absent
    from the papers, or in at most RARE_DOCS of them while a neighbour is in RARE_RATIO
    times as many. `matched`: the words as typed found some papers; then a word no title or
    abstract holds found them as an author's name (or another form of a word) and is left
    alone."""
    wanted = [w for w in dict.fromkeys(w.lower() for w in words) if correctable(w)]
    counts = _counts(wanted)
    lowest = 1 if matched else 0
    suspects = [w for w in wanted if lowest <= counts[w] <= RARE_DOCS]
    if not suspects:
        return {}
    vocab = vocabulary()
    out = {}
    for word in suspects:
        found = vocab.nearest(word)
        if found is None:
            continue
        candidate, docs = found
        if counts[word] == 0 or docs >= RARE_RATIO * counts[word]:
            out[word] = candidate
    return out
