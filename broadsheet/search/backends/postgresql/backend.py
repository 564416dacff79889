"""PostgreSQL mode: a weighted tsvector with GIN for words, pgvector HNSW for meaning
(typos: spelling.py, shared with SQLite). Everything lives in the database, so any number
of web servers share it.

search_document.tsv (made by the migration, outside the ORM) holds the title at weight A,
the abstract at B and the authors at C, all with the `english` configuration. User tokens
reach PostgreSQL only as parameters of plainto_tsquery / phraseto_tsquery, combined with
&&, || and !! by our own SQL, so tsquery syntax in a query (&, |, !, :*, <->) is just text.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager

import numpy as np
from django.db import connection, transaction

from broadsheet.lib.pg_copy import staged
from broadsheet.search.backends.base import DOCUMENT_UPDATE, WORD_COUNT_UPDATE, Backend, Ranked
from broadsheet.search.backends.postgresql import tsv_writer
from broadsheet.search.backends.protocol import IndexProblem, IndexStatus, PaperText
from broadsheet.search.fields import from_pg_binary, to_pg_text
from broadsheet.search.query import Query, Term
from broadsheet.search.results import Filters

CONFIG = "english"
# ts_rank_cd weights for {D, C, B, A}: title (A) above abstract (B) above authors (C).
WEIGHTS = "'{0.05, 0.2, 0.4, 1.0}'"
# Normalisation 1: divide by 1 + log(length), so long abstracts do not win by size alone.
RANK = f"ts_rank_cd({WEIGHTS}, d.tsv, q.q, 1)"
TSV = (
    f"setweight(to_tsvector('{CONFIG}', coalesce(p.title, '')), 'A') || "
    f"setweight(to_tsvector('{CONFIG}', coalesce(p.abstract, '')), 'B') || "
    f"setweight(to_tsvector('{CONFIG}', coalesce(d.authors, '')), 'C')"
)
EF_SEARCH = 100
# This engine's indexes (search migrations 0001 and 0007). Sites on the embedded engine do not
# have them (migration 0009); catch_up() makes what is missing.
INDEXES = {
    "search_document_no_tsv": "ON search_document (paper_id) WHERE tsv IS NULL",
    "search_document_tsv": "ON search_document USING gin (tsv)",
    "search_document_embedding_hnsw": "ON search_document USING hnsw (embedding vector_cosine_ops)",
}
CATCH_UP_BATCH = 5000  # documents given their tsvector per transaction by catch_up()
EXACT_BELOW = 20_000  # vectors: fewer are searched exactly, without the HNSW graph


log = logging.getLogger("broadsheet.search")


def ts_term(term: Term) -> tuple[str, list]:
    fn = "phraseto_tsquery" if term.phrase else "plainto_tsquery"
    return f"{fn}('{CONFIG}', %s)", [term.text]


def ts_any(terms: list[Term]) -> tuple[str, list]:
    parts, params = [], []
    for t in terms:
        sql, p = ts_term(t)
        parts.append(sql)
        params += p
    return "(" + " || ".join(parts) + ")", params


def ts_all(clauses: list[list[Term]]) -> tuple[str, list]:
    parts, params = [], []
    for clause in clauses:
        sql, p = ts_any(clause)
        parts.append(sql)
        params += p
    return "(" + " && ".join(parts) + ")", params


def title_conditions(clauses: list[list[Term]]) -> tuple[str, list]:
    """` AND ...` for clauses made only of title: terms (checked against the title alone)."""
    sql, params = "", []
    for clause in clauses:
        if all(t.title_only for t in clause):
            expr, p = ts_any(clause)
            sql += f" AND to_tsvector('{CONFIG}', p.title) @@ {expr}"
            params += p
    return sql, params


def ts_query(query: Query) -> tuple[str, list]:
    sql, params = ts_all(query.clauses)
    if query.excluded:
        neg, p = ts_any(query.excluded)
        sql = f"({sql} && !!{neg})"
        params += p
    return sql, params


def missing_indexes() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname FROM pg_indexes WHERE tablename = 'search_document' "
            "AND indexname = ANY(%s)",
            [list(INDEXES)],
        )
        present = {r[0] for r in cursor.fetchall()}
    return [name for name in INDEXES if name not in present]


def create_missing(names: Sequence[str]) -> None:
    """Build these indexes where missing (after the tsvectors are filled in, so that the GIN
    index is built once rather than updated row by row). At a million papers the HNSW build
    wants maintenance_work_mem large enough for its graph (about 2 GB). Not inside a
    transaction: PostgreSQL refuses to index a table with deferred checks pending, and a
    build would hold the caller's writes; `reindex` and `embed` run outside one."""
    if connection.in_atomic_block:
        return
    for name in [n for n in missing_indexes() if n in names]:
        log.info("building the database engine's index %s", name)
        with connection.cursor() as cursor:
            cursor.execute(f"CREATE INDEX IF NOT EXISTS {name} {INDEXES[name]}")


class PostgresBackend(Backend):
    vendor = "postgresql"
    vector_cast = "::vector"
    # pgvector's binary form: parsing its text form costs about 0.4 ms a vector.
    stored_vector_sql = "vector_send(embedding)"

    def from_stored(self, value) -> np.ndarray:
        return from_pg_binary(value)

    # Status and health -------------------------------------------------------------------

    def status(self) -> IndexStatus:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_total_relation_size('search_document')")
            size = cursor.fetchone()[0]
        return IndexStatus(sizes={"index size (documents, tsvector GIN, HNSW)": size})

    def health(self) -> str:
        missing = missing_indexes()
        if missing:
            raise IndexProblem(
                f"the database engine's indexes {', '.join(missing)} are missing; "
                "run `broadsheet reindex`"
            )
        return "in the database (GIN + pgvector HNSW)"

    # Indexing ----------------------------------------------------------------------------

    def add_word_counts(self, words: Sequence[str], docs: Sequence[int]) -> None:
        """One statement over two array parameters: at 30,000 words about half the time of
        the shared VALUES upsert, which binds two parameters a word."""
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO search_word (word, docs) "
                "SELECT * FROM unnest(%s::text[], %s::int[]) "
                f"ON CONFLICT (word) DO UPDATE SET {WORD_COUNT_UPDATE}",
                [list(words), list(docs)],
            )

    def _write_documents(self, values: list[tuple[int, str, str]], tsv: bool = True) -> None:
        """Documents and their tsvectors in one pass: the rows staged with COPY, then one
        INSERT ... SELECT that computes each tsvector as it writes the row (a separate
        UPDATE would write every row, and its GIN entries, twice). With `tsv` false, the
        tsvectors are left NULL, for tsv_writer to fill in."""
        stage = staged(
            "search_document_staged", "paper_id bigint, authors text, text_hash varchar(40)",
            ["paper_id", "authors", "text_hash"], values,
        )  # fmt: skip
        if tsv:
            select = f"{TSV} FROM {stage} d JOIN papers_paper p ON p.id = d.paper_id"
        else:
            select = f"NULL FROM {stage} d"
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO search_document (paper_id, authors, text_hash, tsv) "
                f"SELECT d.paper_id, d.authors, d.text_hash, {select} "
                f"ON CONFLICT (paper_id) DO UPDATE SET {DOCUMENT_UPDATE}, tsv = excluded.tsv"
            )

    def index_documents(
        self, paper_ids: Sequence[int], texts: Mapping[int, PaperText] | None = None
    ) -> list[int]:
        """The documents with their tsvectors; during an import, from its second chunk on,
        the tsvectors are written by tsv_writer once the batch has committed."""
        values = self._document_values(paper_ids, texts)
        if values:
            found = [v[0] for v in values]
            later = tsv_writer.active() and tsv_writer.defer(found, self.index_lexical)
            self._write_documents(values, tsv=not later)
        return [v[0] for v in values]

    def bulk_import(self) -> AbstractContextManager[None]:
        return tsv_writer.in_background(self.catch_up)

    def catch_up(self) -> int:
        """Fill in the tsvectors an interrupted import (or the embedded engine) left NULL,
        then make this engine's indexes where missing; returns how many tsvectors."""
        create_missing(["search_document_no_tsv"])  # finds the NULL ones without a scan
        done = 0
        while True:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT paper_id FROM search_document WHERE tsv IS NULL "
                    "ORDER BY paper_id LIMIT %s",
                    [CATCH_UP_BATCH],
                )
                ids = [r[0] for r in cursor.fetchall()]
            if not ids:
                break
            with transaction.atomic():
                self.index_lexical(ids)
            done += len(ids)
        if done:
            log.info("%s papers left without a tsvector indexed", done)
        create_missing(["search_document_tsv", "search_document_embedding_hnsw"])
        return done

    def index_lexical(self, paper_ids: Sequence[int]) -> None:
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE search_document d SET tsv = {TSV} FROM papers_paper p "
                "WHERE p.id = d.paper_id AND d.paper_id = ANY(%s)",
                [list(paper_ids)],
            )

    # Words -------------------------------------------------------------------------------

    def _lexical_sql(self, query: Query, filters: Filters) -> tuple[str, list]:
        tsq, params = ts_query(query)
        titles, title_params = title_conditions(query.clauses)
        where, filter_params = self.filter_sql(filters)
        sql = (
            f"FROM search_document d JOIN papers_paper p ON p.id = d.paper_id, "
            f"(SELECT {tsq} AS q) q WHERE d.tsv @@ q.q AND p.hidden = false{titles}{where}"
        )
        return sql, params + title_params + filter_params

    def lexical(self, query: Query, filters: Filters, limit: int) -> Ranked:
        if not query.positive:
            return []
        body, params = self._lexical_sql(query, filters)
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT d.paper_id, {RANK} AS r {body} ORDER BY r DESC, d.paper_id LIMIT %s",
                [*params, limit],
            )
            return [(pid, float(r)) for pid, r in cursor.fetchall()]

    def lexical_count(self, query: Query, filters: Filters, cap: int) -> int:
        if not query.positive:
            return 0
        body, params = self._lexical_sql(query, filters)
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT count(*) FROM (SELECT 1 {body} LIMIT %s) t", [*params, cap])
            return cursor.fetchone()[0]

    def matching(
        self, ids: Sequence[int], required: list[list[Term]], excluded: list[Term]
    ) -> set[int]:
        keep = set(ids)
        if not keep:
            return keep
        with connection.cursor() as cursor:
            if required:
                tsq, params = ts_all(required)
                titles, title_params = title_conditions(required)
                cursor.execute(
                    "SELECT d.paper_id FROM search_document d JOIN papers_paper p "
                    f"ON p.id = d.paper_id WHERE d.paper_id = ANY(%s) AND d.tsv @@ {tsq}{titles}",
                    [sorted(keep), *params, *title_params],
                )
                keep &= {r[0] for r in cursor.fetchall()}
            if excluded and keep:
                tsq, params = ts_any(excluded)
                cursor.execute(
                    "SELECT d.paper_id FROM search_document d "
                    f"WHERE d.paper_id = ANY(%s) AND d.tsv @@ {tsq}",
                    [sorted(keep), *params],
                )
                keep -= {r[0] for r in cursor.fetchall()}
        return keep

    # Meaning -----------------------------------------------------------------------------

    def semantic(
        self, vector: np.ndarray, filters: Filters, limit: int, nearest: object = None
    ) -> Ranked:
        where, params = self.filter_sql(filters)
        text = to_pg_text(vector)
        with transaction.atomic(), connection.cursor() as cursor:
            # Iterative scans (pgvector 0.8) keep walking the HNSW graph until enough rows
            # pass the filters, instead of returning fewer than asked.
            cursor.execute("SELECT set_config('hnsw.ef_search', %s, true)", [str(EF_SEARCH)])
            cursor.execute("SELECT set_config('hnsw.iterative_scan', 'relaxed_order', true)")
            if _small(cursor):
                # A few thousand vectors are compared exactly in a few milliseconds; the
                # graph's greedy walk can miss the nearest one, more so while it still
                # holds rows deleted since the last vacuum.
                cursor.execute("SELECT set_config('enable_indexscan', 'off', true)")
            cursor.execute(
                "SELECT d.paper_id, 1 - (d.embedding <=> %s::vector) AS sim "
                "FROM search_document d JOIN papers_paper p ON p.id = d.paper_id "
                f"WHERE d.embedding IS NOT NULL AND p.hidden = false{where} "
                "ORDER BY d.embedding <=> %s::vector LIMIT %s",
                [text, *params, text, limit],
            )
            rows = [(pid, float(sim)) for pid, sim in cursor.fetchall()]
        # relaxed_order may return neighbours slightly out of order.
        return sorted(rows, key=lambda r: -r[1])

    # Filters -----------------------------------------------------------------------------

    def category_sql(self, category: str) -> tuple[str, list]:
        if "." in category:
            test = "lower({v}) = lower(%s)"
            args = [category]
        else:  # a whole archive: cs matches cs.CL, cs.LG, ...
            test = "(lower({v}) = lower(%s) OR left(lower({v}), %s) = lower(%s))"
            args = [category, len(category) + 1, category + "."]
        sql = (
            f"({test.format(v='p.primary_category')} OR EXISTS (SELECT 1 FROM "
            "jsonb_array_elements_text(CASE WHEN jsonb_typeof(p.categories) = 'array' "
            "THEN p.categories ELSE '[]'::jsonb END) c(v) "
            f"WHERE {test.format(v='c.v')}))"
        )
        return sql, args + args

    def icontains(self, column: str) -> str:
        return f"strpos(lower({column}), lower(%s)) > 0"


def _small(cursor) -> bool:
    """Whether search_document has fewer than EXACT_BELOW rows: the planner's estimate, or
    a bounded count when the table was never analysed."""
    cursor.execute("SELECT reltuples FROM pg_class WHERE oid = 'search_document'::regclass")
    estimate = cursor.fetchone()[0]
    if estimate is None or estimate < 0:
        cursor.execute(
            "SELECT count(*) FROM (SELECT 1 FROM search_document LIMIT %s) t", [EXACT_BELOW]
        )
        estimate = cursor.fetchone()[0]
    return estimate < EXACT_BELOW
