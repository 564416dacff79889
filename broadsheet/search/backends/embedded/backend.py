"""The embedded engine: a tantivy index for words, a faiss file for meaning, on this node.

Both are folders beside the database, derived from it (lexical_index.py, vectorindex.py);
today the engine serves SQLite sites.
The lexical query is built from our query tree with tantivy term/phrase/boolean queries, so
no user text is ever parsed as query syntax. Every hit is checked against the database
(hidden papers, filters) before it is returned.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from pathlib import Path

import numpy as np
from django.db import connection, transaction

from broadsheet.search.backends.base import Backend, Ranked, document_id_batches
from broadsheet.search.backends.embedded import (
    lexical_index,
    lexical_pipeline,
    snapshot,
    vectorindex,
)
from broadsheet.search.backends.protocol import IndexProblem, IndexStatus
from broadsheet.search.query import Query, Term
from broadsheet.search.results import Filters

DEEPEST = 20_000  # candidates fetched at most before filtering the slow way
EXACT_FILTERED_MAX = 10_000  # a filtered set this small is searched exactly, vector by vector
RERANK_MIN = 100  # candidates of an 8-bit index (older files) re-ranked exactly, at least
REBUILD_BATCH = 10_000
# A category filter trusts the vector index's category table only for papers not modified
# since it was read, less this (a writer stamps `modified` before it commits) ...
CHANGED_SLACK = 60
CHANGED_MAX = 1_000  # ... and only while so few papers were (their ids are read per search)


class EmbeddedBackend(Backend):
    vendor = "sqlite"

    def pinned(self) -> AbstractContextManager[None]:
        """One read of which index files are current per search, not one per call."""
        return snapshot.pinned()

    def id_filter(self, ids: Sequence[int]) -> tuple[str, list]:
        """The ids as one JSON parameter, so the statement's text is the same for any ids:
        Django's cursor rewrites the placeholders of every statement's text with a regex,
        and SQLite parses every literal, which over 120 ids cost more than reading the rows;
        SQLite also keeps the statement prepared (figures: bench/README.md)."""
        return "IN (SELECT value FROM json_each(%s))", [json.dumps([int(i) for i in ids])]

    def not_hidden(self, where: str) -> str:
        return _not_hidden(where)

    def embedding_sql(self) -> str:
        """The stored vector `d.embedding` as little-endian float32 bytes, after vector_rows."""
        return "d.embedding"

    def vector_rows(self, rows: list[tuple[int, bytes]]) -> list[tuple[int, bytes]]:
        return rows

    # Indexing ----------------------------------------------------------------------------

    def catch_up(self) -> int:
        return lexical_pipeline.index_pending()

    def bulk_import(self) -> AbstractContextManager[None]:
        return lexical_pipeline.in_background()

    def forget(self, paper_ids: Sequence[int]) -> None:
        lexical_index.remove(paper_ids)

    def index_lexical(self, paper_ids: Sequence[int]) -> None:
        if lexical_pipeline.active():  # during an import: another process writes it
            lexical_pipeline.write_or_defer(paper_ids)
        else:
            lexical_index.write(paper_ids)

    def prune(self) -> None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT paper_id FROM search_document")
            lexical_index.keep_only([r[0] for r in cursor.fetchall()])

    def rebuild_lexical_if_missing(self) -> int:
        """Index every document when no lexical index was ever written (a database that
        predates the tantivy index, a lost folder, or one of an older schema version):
        `broadsheet embed` catches up."""
        if lexical_index.searcher() is not None:
            return 0
        done = 0
        for ids in document_id_batches(REBUILD_BATCH):
            with transaction.atomic():
                lexical_index.write(ids)
                lexical_pipeline.forget_pending(ids)  # queued when an old index was replaced
            done += len(ids)
        return done

    def sync_vectors(self, full: bool = False) -> int:
        self.rebuild_lexical_if_missing()
        return vectorindex.sync(full=full)

    def has_vectors(self) -> bool:
        return vectorindex.current()[1] > 0

    def vector_model(self) -> str | None:
        return vectorindex.current_model()

    # Status and health -------------------------------------------------------------------

    def status(self) -> IndexStatus:
        from broadsheet.search.models import LexicalPending

        state = vectorindex.state()
        return IndexStatus(
            # Non-zero during an import (its indexing process catches up), or after one was
            # killed (the next import or `broadsheet embed` indexes them).
            counts={"waiting for the lexical index": LexicalPending.objects.count()},
            sizes={
                "lexical index size": _folder_size(lexical_index.base_dir()),
                "vector index size": _folder_size(vectorindex.index_dir()),
            },
            generation=str(state) if state else "none yet",
        )

    def health(self) -> str:
        name = lexical_index.current_name()
        if name is not None and not (lexical_index.base_dir() / name / "meta.json").exists():
            raise IndexProblem(f"lexical index {name} is missing; run `broadsheet reindex`")
        state = vectorindex.state()
        if state and state.count:
            index, size = vectorindex.current()
            if index is None:
                raise IndexProblem(
                    f"vector index {state.filename} is missing; run `broadsheet reindex`"
                )
            return f"lexical {name}, vectors {state.filename} ({size})"
        return f"lexical {name or 'empty'}, no vectors yet"

    # Words -------------------------------------------------------------------------------

    def _visible(self, ids: Sequence[int], filters: Filters, embedded: bool = False) -> set[int]:
        """The ids that are visible papers passing the filters (the database decides), and
        with `embedded` that have a vector. Neither row is read without filters: the index
        on `hidden` and the one on (paper, embedded_at) hold all this needs (a document's
        row holds its 1.5 KB vector)."""
        if not ids:
            return set()
        where, params = self.filter_sql(filters)
        among, id_params = self.id_filter(ids)
        join, vector = "", ""
        if embedded:
            join = " JOIN search_document d ON d.paper_id = p.id"
            vector = " AND d.embedded_at IS NOT NULL"
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT p.id FROM papers_paper p{join} WHERE p.id {among} "
                f"AND {self.not_hidden(where)}{vector}{where}",
                [*id_params, False, *params],
            )
            return {r[0] for r in cursor.fetchall()}

    def lexical(self, query: Query, filters: Filters, limit: int) -> Ranked:
        return self._lexical(query, filters, limit, count=False)[0]

    def lexical_counted(
        self, query: Query, filters: Filters, limit: int, cap: int
    ) -> tuple[Ranked, int]:
        """The list and its total in one tantivy pass when the total must be counted (see
        lexical_index.search_counted); common words are estimated from their frequencies."""
        guess = lexical_index.estimated(query, filters, cap)
        hits, counted = self._lexical(query, filters, limit, count=guess is None)
        if len(hits) < limit:
            return hits, len(hits)
        return hits, guess if guess is not None else min(cap, counted)

    def _lexical(
        self, query: Query, filters: Filters, limit: int, count: bool
    ) -> tuple[Ranked, int]:
        """The visible hits and, with `count`, how many documents match in the index (hidden
        papers and author filters not deducted)."""
        if not query.positive:
            return [], 0
        wanted = lexical_index.build(query, filters)
        if wanted is None:
            return [], 0
        # Dates and category are filtered in the index; hidden papers and author names
        # only in the database, so fetch a little more than asked, and deeper if need be.
        fetch = limit + 20 if not filters.authors else limit * self.overfetch
        hits, matched = lexical_index.search_counted(wanted, fetch, count=count)
        while True:
            keep = self._visible([pid for pid, _ in hits], filters)
            rows = [h for h in hits if h[0] in keep][:limit]
            if len(rows) >= limit or len(hits) < fetch:
                return rows, matched  # enough, or every match was seen
            if fetch >= DEEPEST:
                break
            fetch *= 8
            hits = lexical_index.search(wanted, fetch)
        # A selective author filter over common words: search only the papers it allows.
        where, params = self.filter_sql(filters)
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT p.id FROM papers_paper p WHERE {self.not_hidden(where)}{where} LIMIT %s",
                [False, *params, DEEPEST + 1],
            )
            allowed = [r[0] for r in cursor.fetchall()]
        if len(allowed) > DEEPEST:
            return rows, matched
        return lexical_index.search(lexical_index.restrict(wanted, allowed), limit), matched

    def lexical_count(self, query: Query, filters: Filters, cap: int) -> int:
        """How many papers match (an estimate: hidden papers are counted, and common words
        are estimated from their frequencies)."""
        if not query.positive:
            return 0
        return lexical_index.estimate(query, filters, cap)

    def matching(
        self, ids: Sequence[int], required: list[list[Term]], excluded: list[Term]
    ) -> set[int]:
        keep = set(ids)
        for wanted, query in ((True, lexical_index.clauses_query(required)),
                              (False, lexical_index.any_query(excluded))):  # fmt: skip
            if not keep:
                break
            if query is None:
                if wanted and required:
                    return set()  # a required clause with no searchable words
                continue
            hits = lexical_index.search(lexical_index.restrict(query, sorted(keep)), len(keep))
            found = {pid for pid, _ in hits}
            keep = keep & found if wanted else keep - found
        return keep

    # Meaning -----------------------------------------------------------------------------

    def nearest_job(self, filters: Filters, limit: int) -> Callable[[np.ndarray], object]:
        # The generation is read here, in the caller's thread (it is a database read); the
        # IVF search itself needs no database and releases the GIL.
        generation = vectorindex.current()
        fetch = self._first_fetch(filters, limit, vectorindex.precise(generation[0]))
        return lambda vector: vectorindex.search(
            vector.astype(np.float32), min(fetch, DEEPEST), generation
        )

    def _first_fetch(self, filters: Filters, limit: int, precise: bool) -> int:
        fetch = (limit if precise else max(limit, RERANK_MIN)) + 20
        if filters:
            fetch = max(fetch, math.ceil(limit / self._share(filters) * 1.5))
        return fetch

    def semantic(
        self, vector: np.ndarray, filters: Filters, limit: int, nearest: object = None
    ) -> Ranked:
        """Nearest neighbours from the IVF index, checked against the database (visible
        papers with a vector, passing the filters). The float16 codes rank as the stored
        vectors do, so similarities come from the file (within ~1e-3 of the stored
        vectors'), and a paper re-embedded since the last sync is ranked by its old vector
        until the next one (`broadsheet embed` syncs right after embedding). An index of
        8-bit codes (written by an older version, until rebuilt) has its candidates
        re-ranked by their stored float32 vectors, read in the same query: 8-bit rounding
        reorders near-ties, so at least RERANK_MIN candidates are taken for any limit.
        `nearest`: the first index search, already run by `nearest_job`."""
        vector = vector.astype(np.float32)
        precise = vectorindex.precise(vectorindex.current()[0])
        fetch = self._first_fetch(filters, limit, precise)
        while True:
            if nearest is not None:
                hits, nearest = nearest, None
            else:
                hits = vectorindex.search(vector, min(fetch, DEEPEST))
            if not hits:
                return []
            ids = self._may_pass([h[0] for h in hits], filters)
            if precise:
                keep = self._visible(ids, filters, embedded=True)
                result = [h for h in hits if h[0] in keep][:limit]
            else:
                result = _by_similarity(self._checked_vectors(ids, filters), vector)[:limit]
            if len(result) >= limit or len(hits) < fetch:
                return result  # enough, or the whole index was seen
            if fetch >= DEEPEST:
                break
            fetch *= 8  # the filters dropped most neighbours: look further out
        # Still too few: the filtered set is small, so search it exactly if it is small enough.
        exact = self._exact_filtered(vector, filters, limit)
        return exact if exact is not None else result

    def _may_pass(self, ids: list[int], filters: Filters) -> list[int]:
        """The candidates left once those the vector index's category table puts outside a
        category filter are dropped, so that the database checks only those left (it costs
        by the id checked, and a category of a fifth of the papers fails four in five).
        Papers changed since the table was written are kept, for the database to decide;
        so is every candidate when there is no table, or too many papers changed."""
        if not filters.category:
            return ids
        table = vectorindex.category_table()
        if table is None:
            return ids
        wanted = np.array(ids, dtype=np.int64)
        outside = table.outside(wanted, filters.category)
        if not outside.any():
            return ids
        changed = _changed_since(table.as_of - dt.timedelta(seconds=CHANGED_SLACK))
        if changed is None:
            return ids
        if changed:
            outside &= ~np.isin(wanted, np.array(sorted(changed), dtype=np.int64))
        return wanted[~outside].tolist()

    def _checked_vectors(self, ids: list[int], filters: Filters) -> list[tuple[int, bytes]]:
        """(id, stored vector) of the ids that are visible, embedded papers passing the
        filters. With filters the ids are checked first and only the survivors' vectors are
        read: most candidates fail a category filter, and each row read costs (750 rows
        with their vectors to keep 150 cost more than checking 750 and reading 150)."""
        if filters:
            ids = sorted(self._visible(ids, filters))
            if not ids:
                return []
        among, id_params = self.id_filter(ids)
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT p.id, {self.embedding_sql()} FROM papers_paper p "
                f"JOIN search_document d ON d.paper_id = p.id WHERE p.id {among} "
                "AND p.hidden = %s AND d.embedded_at IS NOT NULL",
                [*id_params, False],
            )
            return self.vector_rows(cursor.fetchall())

    def _share(self, filters: Filters) -> float:
        """Roughly what share of the papers pass these filters (the index knows how many
        papers a category has; dates and authors are guessed), so that a filtered semantic
        search asks the vector index for enough neighbours at once."""
        share = 1.0 if not (filters.authors or filters.after or filters.before) else 0.25
        if filters.category:
            share *= lexical_index.share("cat", filters.category.lower())
        return max(share, 1e-4)

    def _exact_filtered(self, vector: np.ndarray, filters: Filters, limit: int) -> Ranked | None:
        where, params = self.filter_sql(filters)
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT p.id, {self.embedding_sql()} FROM papers_paper p "
                "JOIN search_document d ON d.paper_id = p.id "
                f"WHERE {self.not_hidden(where)} AND d.embedded_at IS NOT NULL{where} LIMIT %s",
                [False, *params, EXACT_FILTERED_MAX + 1],
            )
            rows = cursor.fetchall()
        if len(rows) > EXACT_FILTERED_MAX:
            return None
        if not rows:
            return []
        return _by_similarity(self.vector_rows(rows), vector.astype(np.float32))[:limit]

    # Filters -----------------------------------------------------------------------------

    def category_sql(self, category: str) -> tuple[str, list]:
        if "." in category:
            test = "lower({v}) = lower(%s)"
            args = [category]
        else:  # a whole archive: cs matches cs.CL, cs.LG, ...
            test = "(lower({v}) = lower(%s) OR substr(lower({v}), 1, %s) = lower(%s))"
            args = [category, len(category) + 1, category + "."]
        sql = (
            f"({test.format(v='p.primary_category')} OR EXISTS (SELECT 1 FROM "
            f"json_each(CASE WHEN json_valid(p.categories) THEN p.categories ELSE '[]' END) c "
            f"WHERE {test.format(v='c.value')}))"
        )
        return sql, args + args

    def icontains(self, column: str) -> str:
        return f"instr(lower({column}), lower(%s)) > 0"


def _folder_size(path: Path) -> int:
    total = 0
    for root, _, files in os.walk(path):
        for name in files:
            try:
                total += os.path.getsize(os.path.join(root, name))
            except OSError:
                pass  # an old generation deleted meanwhile
    return total


def _changed_since(since: dt.datetime) -> set[int] | None:
    """Papers modified since `since` (from the index on `modified`), or None when there are
    more than CHANGED_MAX."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id FROM papers_paper WHERE modified >= %s LIMIT %s",
            [connection.ops.adapt_datetimefield_value(since), CHANGED_MAX + 1],
        )
        ids = {r[0] for r in cursor.fetchall()}
    return ids if len(ids) <= CHANGED_MAX else None


def _not_hidden(where: str) -> str:
    """The visibility test (SQLite). Alone it is answered from the index on `hidden` (with the rowid
    it holds); beside other filters, which read the paper's row anyway, the index would only
    add a lookup per paper (or walk all of itself instead of the table), so `+` keeps the
    planner off it (at 1M, category-filtered searches: p50 26.8-33.3 ms with `+`, 33.3-35.2
    without, alternating rounds of 60 queries)."""
    return "+p.hidden = %s" if where else "p.hidden = %s"


def _by_similarity(rows: list[tuple[int, bytes]], vector: np.ndarray) -> Ranked:
    """(id, cosine similarity) of (id, stored vector) rows, most similar first."""
    if not rows:
        return []
    matrix = np.frombuffer(b"".join(r[1] for r in rows), dtype="<f4").reshape(len(rows), -1)
    sims = matrix @ vector
    return [(rows[i][0], float(sims[i])) for i in np.argsort(-sims, kind="stable")]
