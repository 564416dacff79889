"""What every backend provides, and the SQL both share (documents, filters).

In the SQL below `p` is papers_paper and `d` is search_document. Every value from a user is
a query parameter; only our own fragments are formatted into the text.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext

import numpy as np
from django.db import connection
from django.utils import timezone

from broadsheet.search.backends.protocol import IndexStatus, PaperText, Ranked
from broadsheet.search.embedder import paper_text
from broadsheet.search.query import Query, Term
from broadsheet.search.results import Filters

# Words per vocabulary upsert statement: 2 parameters each, under both engines' limits.
WORD_ROWS = 1000
WORD_COUNT_UPDATE = "docs = search_word.docs + excluded.docs"
# A document's upsert (ON CONFLICT (paper_id) DO UPDATE SET ...): a vector, and the counting
# of the words, stay only while the text is the one they were made from.
DOCUMENT_UPDATE = (
    "authors = excluded.authors, text_hash = excluded.text_hash, "
    "embedding = CASE WHEN search_document.text_hash = excluded.text_hash "
    "  THEN search_document.embedding ELSE NULL END, "
    "embedded_at = CASE WHEN search_document.text_hash = excluded.text_hash "
    "  THEN search_document.embedded_at ELSE NULL END, "
    "words_counted_at = CASE WHEN search_document.text_hash = excluded.text_hash "
    "  THEN search_document.words_counted_at ELSE NULL END"
)

__all__ = ["Backend", "PaperText", "Ranked", "document_id_batches", "in_list", "text_hash"]


def served_model() -> str | None:
    """The model of the stored vectors (one model at a time: see SearchDocument.model)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT m.name FROM search_document d "
            "JOIN search_embedding_model m ON m.id = d.model_id "
            "WHERE d.embedded_at IS NOT NULL LIMIT 1"
        )
        row = cursor.fetchone()
    return row[0] if row else None


def text_hash(title: str, abstract: str) -> str:
    return hashlib.sha1(paper_text(title, abstract).encode()).hexdigest()


def day_start(day: dt.date) -> dt.datetime:
    """Midnight of a day in the site's time zone (how the feed counts days too)."""
    return timezone.make_aware(dt.datetime.combine(day, dt.time()))


def in_list(ids: Sequence[int]) -> str:
    """`IN (...)` for ids we got from our own database: ints only, formatted safely."""
    return "(" + ",".join(str(int(i)) for i in ids) + ")" if ids else "(NULL)"


def document_id_batches(size: int) -> Iterator[list[int]]:
    """Every indexed paper's id, in ascending batches of `size` (keyset pagination, so each
    batch is one index range read however large the table)."""
    last = -1
    while True:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT paper_id FROM search_document WHERE paper_id > %s "
                "ORDER BY paper_id LIMIT %s",
                [last, size],
            )
            ids = [r[0] for r in cursor.fetchall()]
        if not ids:
            return
        yield ids
        last = ids[-1]


class Backend:
    """What both backends share; each implements protocol.SearchBackend on top of it."""

    vendor = ""
    # How many semantic candidates to fetch for each one wanted when filters may drop some.
    overfetch = 4
    vector_cast = ""  # appended to a vector parameter in SQL

    # Searching ---------------------------------------------------------------------------

    def pinned(self) -> AbstractContextManager[None]:
        """Nothing to pin when every read is of the database, in the caller's transaction."""
        return nullcontext()

    def id_filter(self, ids: Sequence[int]) -> tuple[str, list]:
        return f"IN {in_list(ids)}", []

    # Indexing around the documents -------------------------------------------------------

    def catch_up(self) -> int:
        return 0

    def bulk_import(self) -> AbstractContextManager[None]:
        return nullcontext()

    def status(self) -> IndexStatus:
        return IndexStatus()

    def add_word_counts(self, words: Sequence[str], docs: Sequence[int]) -> None:
        """A multi-row VALUES upsert, which SQLite and PostgreSQL both accept (on SQLite as
        fast as one from a JSON parameter), in chunks of WORD_ROWS: a full chunk's statement
        text is always the same, so the engine keeps it prepared."""
        with connection.cursor() as cursor:
            for start in range(0, len(words), WORD_ROWS):
                chunk = range(start, min(start + WORD_ROWS, len(words)))
                cursor.execute(
                    "INSERT INTO search_word (word, docs) VALUES "
                    + ", ".join(["(%s, %s)"] * len(chunk))
                    + f" ON CONFLICT (word) DO UPDATE SET {WORD_COUNT_UPDATE}",
                    [v for i in chunk for v in (words[i], docs[i])],
                )

    def health(self) -> str:
        raise NotImplementedError

    # Documents ---------------------------------------------------------------------------

    def sync_documents(
        self, paper_ids: Sequence[int], texts: Mapping[int, PaperText] | None = None
    ) -> list[int]:
        """Create or refresh the search documents of these papers (authors, text hash) and
        drop vectors whose text changed. Returns the ids that are papers.

        `texts` holds (title, abstract, author names) of papers the caller has just stored
        in this transaction (an ingest batch): those are not read back from the database,
        which was half of this method's time in an import (bench/README.md)."""
        values = self._document_values(paper_ids, texts)
        if values:
            self._write_documents(values)
        return [v[0] for v in values]

    def _document_values(
        self, paper_ids: Sequence[int], texts: Mapping[int, PaperText] | None
    ) -> list[tuple[int, str, str]]:
        """(paper id, authors, text hash) of the documents of those of these ids that are
        papers; drops the documents of the others."""
        from broadsheet.search.models import SearchDocument

        texts = texts or {}
        rows = [(pid, *texts[pid]) for pid in paper_ids if pid in texts]
        unknown = [pid for pid in paper_ids if pid not in texts]
        if unknown:
            read = self._stored_texts(unknown)
            rows += read
            gone = sorted(set(unknown) - {r[0] for r in read})
            if gone:
                SearchDocument.objects.filter(paper_id__in=gone).delete()
                self.forget(gone)
        return [
            (pid, ", ".join(authors), text_hash(title, abstract))
            for pid, title, abstract, authors in rows
        ]

    def _write_documents(self, values: list[tuple[int, str, str]]) -> None:
        """Upsert (paper id, authors, text hash) rows; a changed text drops its now-stale
        vector and waits for its words to be counted (spelling.py)."""
        with connection.cursor() as cursor:
            cursor.executemany(
                "INSERT INTO search_document (paper_id, authors, text_hash) VALUES (%s, %s, %s) "
                f"ON CONFLICT (paper_id) DO UPDATE SET {DOCUMENT_UPDATE}",
                values,
            )

    def index_documents(
        self, paper_ids: Sequence[int], texts: Mapping[int, PaperText] | None = None
    ) -> list[int]:
        """sync_documents() and index_lexical() of the papers it found."""
        found = self.sync_documents(paper_ids, texts)
        if found:
            self.index_lexical(found)
        return found

    def _stored_texts(self, paper_ids: Sequence[int]) -> list[tuple[int, str, str, list[str]]]:
        """(id, title, abstract, author names in order) of those of these ids that are papers."""
        # Raw SQL with the ids inlined (ints from our own database): this runs for every
        # ingest batch, and the ORM's per-value and per-row work cost more than the queries.
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT id, title, abstract FROM papers_paper WHERE id IN {in_list(paper_ids)}"
            )
            rows = cursor.fetchall()
        if not rows:
            return []
        names: dict[int, list[str]] = {}
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT s.paper_id, a.name FROM papers_authorship s "
                "JOIN papers_author a ON a.id = s.author_id "
                f"WHERE s.paper_id IN {in_list([r[0] for r in rows])} "
                "ORDER BY s.paper_id, s.position"
            )
            for pid, name in cursor.fetchall():
                names.setdefault(pid, []).append(name)
        return [(pid, title, abstract, names.get(pid, [])) for pid, title, abstract in rows]

    def forget(self, paper_ids: Sequence[int]) -> None:
        """Remove deleted papers from the lexical index (documents cascade)."""

    def index_lexical(self, paper_ids: Sequence[int]) -> None:
        raise NotImplementedError

    def prune(self) -> None:
        """Drop lexical entries of papers that are gone (after a rebuild)."""

    # Vectors -----------------------------------------------------------------------------

    def store_vectors(self, items: Sequence[tuple[int, np.ndarray, str]], model_id: int) -> None:
        """Save (paper id, vector, text hash it came from), made by model `model_id`; a
        vector whose text changed in the meantime is not stored."""
        from broadsheet.search.fields import VectorField

        field = VectorField()
        now = timezone.now()
        rows = [
            (field.get_db_prep_value(vec, connection), now, h, model_id, pid, h)
            for pid, vec, h in items
        ]
        cast = self.vector_cast
        # An empty hash: a document the migration made, whose text was never hashed.
        with connection.cursor() as cursor:
            cursor.executemany(
                f"UPDATE search_document SET embedding = %s{cast}, embedded_at = %s, "
                "text_hash = %s, model_id = %s WHERE paper_id = %s AND text_hash IN (%s, '')",
                rows,
            )

    def stage_vectors(self, items: Sequence[tuple[int, np.ndarray, str]], model_id: int) -> None:
        """Keep (paper id, vector, text hash) of another model than the served one, beside
        the served vectors, until swap_staged_vectors()."""
        from broadsheet.search.fields import VectorField

        field = VectorField()
        rows = [
            (pid, model_id, h, field.get_db_prep_value(vec, connection)) for pid, vec, h in items
        ]
        with connection.cursor() as cursor:
            cursor.executemany(
                "INSERT INTO search_staged_vector (paper_id, model_id, text_hash, embedding) "
                f"VALUES (%s, %s, %s, %s{self.vector_cast}) ON CONFLICT (paper_id) DO UPDATE "
                "SET model_id = excluded.model_id, text_hash = excluded.text_hash, "
                "embedding = excluded.embedding",
                rows,
            )

    def swap_staged_vectors(self, model_id: int) -> int:
        """In the caller's transaction: the staged vectors of `model_id` replace the served
        ones; a served vector of another model that has no staged successor (its text
        changed meanwhile) is dropped, to be embedded again. Returns how many moved."""
        now = timezone.now()
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE search_document SET embedding = s.embedding, model_id = s.model_id, "
                "text_hash = s.text_hash, embedded_at = %s FROM search_staged_vector s "
                "WHERE s.paper_id = search_document.paper_id AND s.model_id = %s "
                "AND search_document.text_hash IN (s.text_hash, '')",
                [now, model_id],
            )
            moved = cursor.rowcount
            cursor.execute(
                "UPDATE search_document SET embedding = NULL, embedded_at = NULL, "
                "model_id = NULL WHERE embedded_at IS NOT NULL "
                "AND (model_id IS NULL OR model_id <> %s)",
                [model_id],
            )
            cursor.execute("DELETE FROM search_staged_vector")
        return moved

    def vector_model(self) -> str | None:
        return served_model()

    def sync_vectors(self, full: bool = False) -> int | None:
        """Nothing to do where the stored vectors are the index."""
        return None

    def has_vectors(self) -> bool:
        from broadsheet.search.models import SearchDocument

        return SearchDocument.objects.filter(embedded_at__isnull=False).exists()

    def vector_of(self, paper_id: int) -> np.ndarray | None:
        from broadsheet.search.models import SearchDocument

        return (
            SearchDocument.objects.filter(paper_id=paper_id, embedded_at__isnull=False)
            .values_list("embedding", flat=True)
            .first()
        )

    # The stored vector read by SQL (`vectors_of`): the column expression, and its value
    # turned into float32 (the database engines' backends read pgvector's binary form).
    stored_vector_sql = "embedding"

    def from_stored(self, value) -> np.ndarray:
        from broadsheet.search.fields import VectorField

        return VectorField().from_db_value(value, None, connection)

    def vectors_of(self, ids: Sequence[int]) -> dict[int, np.ndarray]:
        """The stored vectors of those of `ids` that have one, by ascending id. One
        statement, its id list written by `id_filter`: built by Django's `__in`, a list of
        hundreds of ids (a day's arrivals, the random negatives) cost more than reading their
        rows (bench/routine.py)."""
        from broadsheet.search.models import SearchDocument

        if not ids:
            return {}
        among, params = self.id_filter(ids)
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT paper_id, {self.stored_vector_sql} FROM "
                f"{SearchDocument._meta.db_table} WHERE embedded_at IS NOT NULL "
                f"AND embedding IS NOT NULL AND paper_id {among} ORDER BY paper_id",
                params,
            )
            return {pid: self.from_stored(value) for pid, value in cursor.fetchall()}

    # Queries -----------------------------------------------------------------------------

    def lexical(self, query: Query, filters: Filters, limit: int) -> Ranked:
        raise NotImplementedError

    def lexical_count(self, query: Query, filters: Filters, cap: int) -> int:
        raise NotImplementedError

    def lexical_counted(
        self, query: Query, filters: Filters, limit: int, cap: int
    ) -> tuple[Ranked, int]:
        """`lexical()` and how many papers match, at most `cap` (`lexical_count()`, asked
        only when the list is full; a backend may find both in one pass)."""
        hits = self.lexical(query, filters, limit)
        return hits, self.lexical_count(query, filters, cap) if len(hits) >= limit else len(hits)

    def semantic(
        self, vector: np.ndarray, filters: Filters, limit: int, nearest: object = None
    ) -> Ranked:
        """`nearest`: what the function from `nearest_job(filters, limit)` returned for this
        vector, if it was run."""
        raise NotImplementedError

    def nearest_job(self, filters: Filters, limit: int) -> Callable[[np.ndarray], object] | None:
        """The part of `semantic()` that needs no database, as a function of the query vector,
        or None. search() runs it in the embedding thread right after the embedding, so that
        it overlaps the lexical search; it must not touch the database (each thread has its
        own connection, which would not see the caller's transaction)."""
        return None

    def matching(
        self, ids: Sequence[int], required: list[list[Term]], excluded: list[Term]
    ) -> set[int]:
        """The ids among `ids` whose text satisfies every required clause and no excluded
        term (so semantic hits obey phrases, title: and -words too)."""
        raise NotImplementedError

    def browse(self, filters: Filters, limit: int) -> Ranked:
        """Papers matching only filters (no words), newest first."""
        where, params = self.filter_sql(filters)
        sql = (
            "SELECT p.id FROM papers_paper p WHERE p.hidden = %s"
            + where
            + " ORDER BY p.published_at DESC, p.id DESC LIMIT %s"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [False, *params, limit])
            return [(row[0], 0.0) for row in cursor.fetchall()]

    def browse_count(self, filters: Filters, cap: int) -> int:
        where, params = self.filter_sql(filters)
        sql = (
            "SELECT count(*) FROM (SELECT 1 FROM papers_paper p "
            f"WHERE p.hidden = %s{where} LIMIT %s) t"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [False, *params, cap])
            return cursor.fetchone()[0]

    # Filters -----------------------------------------------------------------------------

    def filter_sql(self, filters: Filters) -> tuple[str, list]:
        """` AND ...` conditions on `p` (and, for authors, a subquery on documents)."""
        parts: list[str] = []
        params: list = []
        if filters.after:
            parts.append("p.published_at >= %s")
            params.append(connection.ops.adapt_datetimefield_value(day_start(filters.after)))
        if filters.before:
            parts.append("p.published_at < %s")
            end = day_start(filters.before + dt.timedelta(days=1))
            params.append(connection.ops.adapt_datetimefield_value(end))
        if filters.category:
            sql, cat_params = self.category_sql(filters.category)
            parts.append(sql)
            params += cat_params
        for name in filters.authors:
            parts.append(
                "EXISTS (SELECT 1 FROM search_document da WHERE da.paper_id = p.id "
                f"AND {self.icontains('da.authors')})"
            )
            params.append(name)
        return "".join(" AND " + part for part in parts), params

    def category_sql(self, category: str) -> tuple[str, list]:
        raise NotImplementedError

    def icontains(self, column: str) -> str:
        raise NotImplementedError
