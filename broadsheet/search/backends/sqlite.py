"""SQLite mode: FTS5 for words, a usearch file for meaning.

`search_fts` (made by the migration) is a regular FTS5 table over title, abstract and
authors with rowid = paper id and the porter + unicode61 tokenizer; `search_fts_vocab` reads
its vocabulary, which the spelling fallback searches. Every user token reaches MATCH as a
double-quoted FTS5 string (inner quotes doubled), so FTS5 syntax in a query (NEAR, *, ^,
column names, AND/OR/NOT) is just text.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Sequence

import numpy as np
from django.db import connection

from broadsheet.search import vectorindex
from broadsheet.search.backends.base import Backend, Ranked, in_list
from broadsheet.search.fields import from_blob
from broadsheet.search.query import Query, Term
from broadsheet.search.results import Filters

# bm25() column weights: title above abstract above authors.
BM25 = "bm25(search_fts, 10.0, 3.0, 2.0)"
DEEPEST = 20_000  # candidates fetched at most before filtering the slow way
EXACT_FILTERED_MAX = 10_000  # a filtered set this small is searched exactly, vector by vector


def fts_string(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def fts_term(term: Term) -> str:
    s = fts_string(term.text)
    return f"title : {s}" if term.title_only else s


def fts_clause(clause: list[Term]) -> str:
    if len(clause) == 1:
        return fts_term(clause[0])
    return "(" + " OR ".join(fts_term(t) for t in clause) + ")"


def fts_all(clauses: list[list[Term]]) -> str:
    return " AND ".join(fts_clause(c) for c in clauses)


def fts_any(terms: list[Term]) -> str:
    return " OR ".join(fts_term(t) for t in terms)


def fts_query(query: Query) -> str:
    expr = fts_all(query.clauses)
    if query.excluded:
        expr = f"({expr}) NOT ({fts_any(query.excluded)})"
    return expr


class SQLiteBackend(Backend):
    vendor = "sqlite"

    # Indexing ----------------------------------------------------------------------------

    def forget(self, paper_ids: Sequence[int]) -> None:
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM search_fts WHERE rowid IN {in_list(paper_ids)}")

    def index_lexical(self, paper_ids: Sequence[int]) -> None:
        ids = in_list(paper_ids)
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM search_fts WHERE rowid IN {ids}")
            cursor.execute(
                "INSERT INTO search_fts (rowid, title, abstract, authors) "
                "SELECT p.id, p.title, p.abstract, d.authors FROM papers_paper p "
                f"JOIN search_document d ON d.paper_id = p.id WHERE p.id IN {ids}"
            )

    def prune(self) -> None:
        with connection.cursor() as cursor:
            cursor.execute(
                "DELETE FROM search_fts WHERE rowid NOT IN (SELECT paper_id FROM search_document)"
            )
            cursor.execute("INSERT INTO search_fts (search_fts) VALUES ('optimize')")

    def sync_vectors(self, full: bool = False) -> None:
        vectorindex.sync(full=full)

    def has_vectors(self) -> bool:
        return vectorindex.current()[1] > 0

    # Words -------------------------------------------------------------------------------

    def lexical(self, query: Query, filters: Filters, limit: int) -> Ranked:
        if not query.positive:
            return []
        match = fts_query(query)
        where, params = self.filter_sql(filters)
        fetch = limit + 50 if not filters else limit * self.overfetch
        with connection.cursor() as cursor:
            while True:
                # FTS5 ranks inside the virtual table and stops at `fetch`; the join then
                # drops hidden and filtered-out papers. Too few left: fetch deeper.
                cursor.execute(
                    f"SELECT m.rowid, m.r FROM (SELECT rowid, {BM25} AS r FROM search_fts "
                    "WHERE search_fts MATCH %s ORDER BY r LIMIT %s) m "
                    f"JOIN papers_paper p ON p.id = m.rowid WHERE p.hidden = %s{where} "
                    "ORDER BY m.r LIMIT %s",
                    [match, fetch, False, *params, limit],
                )
                rows = cursor.fetchall()
                if len(rows) >= limit or fetch >= DEEPEST:
                    break
                cursor.execute(
                    "SELECT count(*) FROM (SELECT 1 FROM search_fts WHERE search_fts MATCH %s "
                    "LIMIT %s) t",
                    [match, fetch],
                )
                if cursor.fetchone()[0] < fetch:
                    break  # every match was seen
                fetch *= 8
            if len(rows) < limit and fetch >= DEEPEST:
                # A very selective filter over a very common word: join everything.
                cursor.execute(
                    f"SELECT f.rowid, {BM25} AS r FROM search_fts f "
                    "JOIN papers_paper p ON p.id = f.rowid "
                    f"WHERE search_fts MATCH %s AND p.hidden = %s{where} ORDER BY r LIMIT %s",
                    [match, False, *params, limit],
                )
                rows = cursor.fetchall()
        # bm25() is lower-is-better; flip it so every score is higher-is-better.
        return [(pid, -rank) for pid, rank in rows]

    def lexical_count(self, query: Query, filters: Filters, cap: int) -> int:
        if not query.positive:
            return 0
        where, params = self.filter_sql(filters)
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM (SELECT 1 FROM search_fts f JOIN papers_paper p "
                f"ON p.id = f.rowid WHERE search_fts MATCH %s AND p.hidden = %s{where} "
                "LIMIT %s) t",
                [fts_query(query), False, *params, cap],
            )
            return cursor.fetchone()[0]

    def matching(
        self, ids: Sequence[int], required: list[list[Term]], excluded: list[Term]
    ) -> set[int]:
        keep = set(ids)
        if not keep:
            return keep
        with connection.cursor() as cursor:
            for expr, wanted in ((fts_all(required), True), (fts_any(excluded), False)):
                if not expr:
                    continue
                cursor.execute(
                    "SELECT rowid FROM search_fts WHERE search_fts MATCH %s "
                    f"AND rowid IN {in_list(sorted(keep))}",
                    [expr],
                )
                found = {r[0] for r in cursor.fetchall()}
                keep = keep & found if wanted else keep - found
        return keep

    def fuzzy(self, query: Query, filters: Filters, limit: int) -> tuple[Ranked, str | None]:
        """Correct unknown words against the index's own vocabulary, then search again.

        Cheaper than a trigram index over titles at arXiv scale (the vocabulary is a B-tree
        range read on the word's first two letters) and corrects abstract words too."""
        replacements: dict[str, str] = {}
        with connection.cursor() as cursor:
            for word in dict.fromkeys(query.plain_words):
                if len(word) < 4 or word.isdigit():
                    continue
                cursor.execute(
                    "SELECT 1 FROM search_fts WHERE search_fts MATCH %s LIMIT 1",
                    [fts_string(word)],
                )
                if cursor.fetchone():
                    continue  # a known word
                cursor.execute(
                    "SELECT term, doc FROM search_fts_vocab WHERE term >= %s AND term < %s "
                    "LIMIT 50000",
                    [word[:2], word[:2] + "\U0010ffff"],
                )
                best = _closest(word, cursor.fetchall())
                if best:
                    replacements[word] = best
        if not replacements:
            return [], None
        corrected = query.with_words_replaced(replacements)
        found = self.lexical(corrected, filters, limit)
        if not found:
            return [], None
        # The vocabulary holds stems ("autoencod"); show the word as the papers spell it.
        shown = {w: self._surface(stem, [pid for pid, _ in found[:5]])
                 for w, stem in replacements.items()}  # fmt: skip
        return found, query.with_words_replaced(shown).meaning_text

    def _surface(self, stem: str, ids: list[int]) -> str:
        from collections import Counter

        from broadsheet.papers.models import Paper

        pattern = re.compile(r"\b" + re.escape(stem) + r"\w*", re.IGNORECASE)
        words: Counter[str] = Counter()
        for title, abstract in Paper.objects.filter(id__in=ids).values_list("title", "abstract"):
            words.update(m.group().lower() for m in pattern.finditer(f"{title} {abstract}"))
        return words.most_common(1)[0][0] if words else stem

    # Meaning -----------------------------------------------------------------------------

    def semantic(self, vector: np.ndarray, filters: Filters, limit: int) -> Ranked:
        fetch = limit * self.overfetch if filters else limit + 20
        where, params = self.filter_sql(filters)
        while True:
            hits = vectorindex.search(vector, fetch)
            if not hits:
                return []
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT p.id FROM papers_paper p JOIN search_document d "
                    f"ON d.paper_id = p.id WHERE p.id IN {in_list([h[0] for h in hits])} "
                    f"AND p.hidden = %s AND d.embedded_at IS NOT NULL{where}",
                    [False, *params],
                )
                keep = {r[0] for r in cursor.fetchall()}
            result = [h for h in hits if h[0] in keep][:limit]
            if len(result) >= limit or len(hits) < fetch:
                return result  # enough, or the whole index was seen
            if fetch >= DEEPEST:
                break
            fetch *= 8  # the filters dropped most neighbours: look further out
        # Still too few: the filtered set is small, so search it exactly if it is small enough.
        exact = self._exact_filtered(vector, filters, limit)
        return exact if exact is not None else result

    def _exact_filtered(self, vector: np.ndarray, filters: Filters, limit: int) -> Ranked | None:
        where, params = self.filter_sql(filters)
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT p.id, d.embedding FROM papers_paper p "
                "JOIN search_document d ON d.paper_id = p.id "
                f"WHERE p.hidden = %s AND d.embedded_at IS NOT NULL{where} LIMIT %s",
                [False, *params, EXACT_FILTERED_MAX + 1],
            )
            rows = cursor.fetchall()
        if len(rows) > EXACT_FILTERED_MAX:
            return None
        if not rows:
            return []
        matrix = np.stack([from_blob(r[1]) for r in rows])
        sims = matrix @ vector.astype(np.float32)
        order = np.argsort(-sims)[:limit]
        return [(rows[i][0], float(sims[i])) for i in order]

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


def _closest(word: str, vocabulary: list[tuple[str, int]]) -> str | None:
    """The indexed word (a porter stem) most like `word`, preferring common ones."""
    best, best_score = None, 0.0
    matcher = difflib.SequenceMatcher(b=word, autojunk=False)
    for term, docs in vocabulary:
        if abs(len(term) - len(word)) > 4:
            continue
        matcher.set_seq1(term)
        if matcher.real_quick_ratio() < 0.75 or matcher.quick_ratio() < 0.75:
            continue
        ratio = matcher.ratio()
        if ratio < 0.75:
            continue
        score = ratio + 0.02 * math.log1p(docs)
        if score > best_score:
            best, best_score = term, score
    return best
