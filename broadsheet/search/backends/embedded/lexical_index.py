"""the embedded engine's lexical index: a tantivy index in a folder beside the database.

FTS5 ranks every match of a query before it can return the best ten, which at a million
papers is slow for a query of common words; tantivy's block-max WAND is not. The
papers (and their search documents) stay the source of truth; this index is derived from
them, kept in step by `index_papers` (the `papers_changed` signal after each ingest batch;
during an import a second process writes it once each batch has committed,
lexical_pipeline.py) and rewritten by `broadsheet reindex`.

- Fields: `text` (the title and the abstract), `title`, `authors` (stemmed English words),
  `cat` (every category and its archive, lower case), `published` (Unix seconds) and `id`
  (the paper id, a fast field).
- Ranking is BM25: 3 x the text's score plus 7 x the title's (a title word weighs 10, an
  abstract word 3) plus 2 x the authors' (names weigh least). A document must hold each
  clause in its text (or, for a name, its authors); the title part only adds to the score.
  Why text holds the title again: a clause matched as "title or abstract or authors" is a
  union, and tantivy scores every posting of a union nested in an intersection, where one
  field intersects by skipping (figures: bench/README.md).
- Queries are built from our query tree with term, phrase and boolean queries: user text
  never reaches tantivy's query parser, so its syntax is just words.
- Writers (ingest batches, `broadsheet embed`, `broadsheet reindex`) queue on a lock file,
  then write, commit and wait for merges: one commit per batch. Readers (web workers) never
  lock; they reload when the index's meta.json changed (one stat per query).
- Which folder is current is recorded in the database (LexicalIndexState), created in the
  writer's transaction: a database that never committed an index (a fresh one, or a test
  rolled back) starts a new, empty folder instead of inheriting another's documents.
  A rolled-back ingest batch can leave documents of papers that do not exist; every hit is
  checked against the database, and an id reused later is re-indexed over the old entry.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import logging
import os
import re
import shutil
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import tantivy
from django.conf import settings
from django.db import connection

from broadsheet.search.backends.base import day_start
from broadsheet.search.backends.embedded import node_state, snapshot
from broadsheet.search.query import Query, Term
from broadsheet.search.results import Filters

log = logging.getLogger("broadsheet.search")

SCHEMA_VERSION = 2  # 1: title, abstract and authors matched separately
TEXT_BOOST = 3.0
TITLE_BONUS = 7.0  # on top of the text's: a title word weighs 10 in all
AUTHORS_BOOST = 2.0
WORD_FIELDS = ("text", "title", "authors")
MATCH_FIELDS = ("text", "authors")  # every indexed word is in one of these
ANALYZER = "broadsheet_en"
WRITER_HEAP = 64_000_000
KEEP_OLD_SECONDS = 3600  # unused folders (rolled back, replaced) are deleted after this

Ranked = list[tuple[int, float]]


def _analyzer() -> tantivy.TextAnalyzer:
    # tantivy's en_stem plus accent folding: what FTS5's porter + unicode61 did.
    return (
        tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
        .filter(tantivy.Filter.remove_long(40))
        .filter(tantivy.Filter.lowercase())
        .filter(tantivy.Filter.ascii_fold())
        .filter(tantivy.Filter.stemmer("english"))
        .build()
    )


def _schema() -> tantivy.Schema:
    b = tantivy.SchemaBuilder()
    b.add_unsigned_field("id", indexed=True, fast=True)
    for name in WORD_FIELDS:
        b.add_text_field(name, tokenizer_name=ANALYZER)
    b.add_text_field("cat", tokenizer_name="raw")
    b.add_integer_field("published", indexed=True, fast=True)
    return b.build()


ANALYZE = _analyzer()
SCHEMA = _schema()

_cache_lock = threading.Lock()
_cache: dict[str, tuple[tantivy.Index, tuple]] = {}  # folder -> (index, meta.json stamp)


def base_dir() -> Path:
    """A folder beside the SQLite database, named after it (on PostgreSQL: in this node's
    search folder, node_state.py)."""
    if node_state.node_local():
        return node_state.node_dir() / "lexical"
    name = str(connection.settings_dict["NAME"])
    if not name or name == ":memory:" or name.startswith("file:"):
        return Path(settings.DATA_DIR) / "lexical-memory"
    path = Path(name)
    return path.parent / f"{path.name}-lexical"


# Porter2 keeps the s of acronym plurals ("llms", "gpus") where FTS5's Porter stripped it:
# "LLMs" would not find "LLM". Both index and query text go through this first: an "s" ends a
# word right after a capital or digit, and the word is a capital then capitals or digits
# ([A-Z][A-Z0-9]+s, not inside a longer word). The pattern starts with the literal "s" so the
# scan for candidates is fast (bench/README.md); the rare candidate is checked in Python.
_PLURAL_S = re.compile(r"s\b(?<=[A-Z0-9]s)")


def plain(text: str) -> str:
    parts, last = None, 0
    for m in _PLURAL_S.finditer(text):
        end = start = m.start()
        while (
            start > 0
            and text[start - 1].isascii()
            and (text[start - 1].isupper() or text[start - 1].isdigit())
        ):
            start -= 1
        before = text[start - 1] if start else " "
        if end - start >= 2 and text[start].isupper() and not (before.isalnum() or before == "_"):
            if parts is None:
                parts = []
            parts += (text[last:end],)
            last = end + 1
    if parts is None:
        return text
    parts.append(text[last:])
    return "".join(parts)


def words(text: str) -> list[str]:
    """Text as the index stores it: lower-case, accent-folded English stems."""
    return ANALYZE.analyze(plain(text))


# Opening ---------------------------------------------------------------------------------


def current_name() -> str | None:
    if node_state.node_local():
        return node_state.read().get("lexical")
    with connection.cursor() as cursor:  # raw SQL: once per query, cheaper than the ORM
        cursor.execute("SELECT dirname FROM search_lexical_index WHERE id = 1")
        row = cursor.fetchone()
    return row[0] if row else None


def _of_this_version(name: str) -> bool:
    return name.startswith(f"v{SCHEMA_VERSION}-")


def _queue_every_paper() -> None:
    """An index of an older schema is replaced: every paper waits to be indexed again (by
    the next `broadsheet embed`, `reindex` or import), in the caller's transaction."""
    log.warning("lexical index of an older version: every paper is queued to be indexed again")
    with connection.cursor() as cursor:
        cursor.execute(
            # WHERE: SQLite's parser needs one before an upsert clause after a SELECT.
            "INSERT INTO search_lexical_pending (paper_id) SELECT id FROM papers_paper "
            "WHERE 1 = 1 ON CONFLICT DO NOTHING"
        )


def _stamp(path: Path) -> tuple:
    try:
        st = os.stat(path / "meta.json")
    except FileNotFoundError:
        return ()
    return (st.st_mtime_ns, st.st_size, st.st_ino)


def _open(path: Path) -> tantivy.Index:
    path.mkdir(parents=True, exist_ok=True)
    index = tantivy.Index(SCHEMA, path=str(path), reuse=True)
    index.register_tokenizer(ANALYZER, _analyzer())
    index.config_reader("manual")  # we reload on a changed meta.json (no watcher thread)
    return index


def _index_at(path: Path) -> tantivy.Index:
    """The index in `path`, reloaded if a writer committed since we last looked."""
    key = str(path)
    stamp = _stamp(path)
    entry = _cache.get(key)
    if entry is None or entry[1] != stamp:
        with _cache_lock:
            entry = _cache.get(key)
            if entry is None:
                for old in list(_cache):
                    if old != key:
                        del _cache[old]  # an earlier generation
                entry = (_open(path), stamp)
            elif entry[1] != stamp:
                entry[0].reload()
                entry = (entry[0], stamp)
            _cache[key] = entry
    return entry[0]


def searcher() -> tantivy.Searcher | None:
    """A searcher over the latest commit of the current index, or None if there is none
    (the same one throughout a `snapshot.pinned()` block, such as a search)."""
    return snapshot.once("lexical", _latest_searcher)


def _latest_searcher() -> tantivy.Searcher | None:
    name = current_name()
    if name is None:
        return None
    if not _of_this_version(name):
        log.warning("lexical index %s is of an older version; run `broadsheet embed`", name)
        return None
    path = base_dir() / name
    if not (path / "meta.json").exists():
        log.warning("lexical index %s is missing; run `broadsheet reindex`", path)
        return None
    return _index_at(path).searcher()


# Writing ---------------------------------------------------------------------------------


@contextmanager
def _writer(into: str | None = None) -> Iterator[tantivy.IndexWriter]:
    """The one writer of the current index (or of folder `into`, a new index being built):
    waits for other writers, commits on success and waits for the merges the commit
    started."""
    from broadsheet.search.models import LexicalIndexState

    folder = base_dir()
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # writers in other processes queue here
        try:
            name = into or current_name()
            if name is not None and not _of_this_version(name):
                if not node_state.node_local():
                    _queue_every_paper()  # a node's follower rebuilds its index instead
                name = None
            if name is None:
                # In the caller's transaction: rolled back, the next writer starts afresh.
                name = new_name()
                if node_state.node_local():
                    node_state.update(lexical=name)
                else:
                    LexicalIndexState.objects.update_or_create(id=1, defaults={"dirname": name})
                _cleanup(folder, keep=name)
            index = _index_at(folder / name)
            writer = _new_writer(index)
            try:
                yield writer
            except BaseException:
                writer.rollback()
                raise
            writer.commit()
            writer.wait_merging_threads()
            _index_at(folder / name)  # this process sees its own commit at once
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _new_writer(index: tantivy.Index) -> tantivy.IndexWriter:
    # Our lock file serialises our writers; tantivy's own lock can still be busy for a
    # moment if a writer of a crashed or foreign process is going away.
    for attempt in range(50):
        try:
            return index.writer(heap_size=WRITER_HEAP, num_threads=1)
        except ValueError:
            if attempt == 49:
                raise
            time.sleep(0.1)
    raise AssertionError("unreachable")


def _cleanup(folder: Path, keep: str) -> None:
    cutoff = time.time() - KEEP_OLD_SECONDS
    for path in folder.glob("v*-*"):
        if path.name != keep and path.is_dir() and path.stat().st_mtime < cutoff:
            shutil.rmtree(path, ignore_errors=True)


def category_terms(primary: str, categories) -> list[str]:
    """The `cat` terms of a paper: each category lower-cased, and its archive (`cs.lg` and
    `cs`). `categories` as fetched raw (the vector index's category table reads them too)."""
    names = [primary, *_json_list(categories)]
    out = set()
    for name in names:
        if isinstance(name, str) and name:
            out.update((name.lower(), name.lower().split(".")[0]))
    return sorted(out)


def new_name() -> str:
    """A name for a new index folder."""
    return f"v{SCHEMA_VERSION}-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"


def write(paper_ids: Sequence[int], into: str | None = None) -> None:
    """(Re)index these papers from the database; ids that are not papers are removed.
    `into`: the folder of an index being built, rather than the current one."""
    from broadsheet.search.backends.base import in_list

    # Raw SQL (ids are ints from our own database): this runs for every ingest batch, and
    # the ORM's per-row conversions cost more than the query. Dates come back as stored
    # text and are parsed here only as far as the index needs.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT p.id, p.title, p.abstract, d.authors, p.published_at, p.primary_category, "
            "p.categories FROM papers_paper p LEFT JOIN search_document d ON d.paper_id = p.id "
            f"WHERE p.id IN {in_list(paper_ids)}"
        )
        rows = cursor.fetchall()
    with _writer(into) as writer:
        writer.delete_documents_by_query(tantivy.Query.term_set_query(SCHEMA, "id", paper_ids))
        for pid, title, abstract, authors, published, primary, categories in rows:
            doc = tantivy.Document()
            doc.add_unsigned("id", pid)
            title = plain(title or "")
            doc.add_text("title", title)
            # Two values: a phrase does not run on from the title into the abstract.
            doc.add_text("text", title)
            doc.add_text("text", plain(abstract or ""))
            doc.add_text("authors", authors or "")
            for cat in category_terms(primary, categories):
                doc.add_text("cat", cat)
            if published is not None:
                doc.add_integer("published", _unix(published))
            writer.add_document(doc)


def _json_list(value) -> list:
    """A JSON column as fetched raw: text on SQLite, already decoded on PostgreSQL."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return []
    return value if isinstance(value, list) else []


def _unix(value) -> int:
    """Unix seconds of a datetime column as fetched raw (SQLite stores UTC text)."""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
    return int(value.timestamp())


def remove(paper_ids: Sequence[int]) -> None:
    if paper_ids:
        with _writer() as writer:
            query = tantivy.Query.term_set_query(SCHEMA, "id", list(paper_ids))
            writer.delete_documents_by_query(query)


def keep_only(paper_ids: Sequence[int]) -> None:
    """Remove every document whose id is not among these (after a rebuild)."""
    with _writer() as writer:
        stale = tantivy.Query.boolean_query(
            [
                (tantivy.Occur.Must, tantivy.Query.all_query()),
                (
                    tantivy.Occur.MustNot,
                    tantivy.Query.term_set_query(SCHEMA, "id", list(paper_ids)),
                ),
            ]  # fmt: skip
        )
        writer.delete_documents_by_query(stale)


# Queries ---------------------------------------------------------------------------------


def _field_query(field: str, tokens: list[str]) -> tantivy.Query:
    if len(tokens) == 1:
        return tantivy.Query.term_query(SCHEMA, field, tokens[0])
    return tantivy.Query.phrase_query(SCHEMA, field, tokens)


def _boosted(field: str, tokens: list[str], boost: float) -> tantivy.Query:
    return tantivy.Query.boost_query(_field_query(field, tokens), boost)


def _term_parts(term: Term) -> tuple[tantivy.Query, list[tantivy.Query]] | None:
    """What a document must hold for this word (or phrase), scored, and what only adds to
    its score; None if the term has no words."""
    tokens = words(term.text)
    if not tokens:
        return None
    if term.title_only:
        return _boosted("title", tokens, TEXT_BOOST + TITLE_BONUS), []
    must = _boosted("text", tokens, TEXT_BOOST)
    if _in_authors(tokens):  # a name: the union is cheap, author postings are short
        must = _any([must, _boosted("authors", tokens, AUTHORS_BOOST)])
    return must, [_boosted("title", tokens, TITLE_BONUS)]


def _in_authors(tokens: list[str]) -> bool:
    s = searcher()
    return s is not None and all(s.doc_freq("authors", t) for t in tokens)


def _any(queries: list[tantivy.Query]) -> tantivy.Query:
    return tantivy.Query.boolean_query([(tantivy.Occur.Should, q) for q in queries])


def _all(must: list[tantivy.Query], must_not: Sequence[tantivy.Query] = ()) -> tantivy.Query:
    if len(must) == 1 and not must_not:
        return must[0]
    return tantivy.Query.boolean_query(
        [(tantivy.Occur.Must, q) for q in must] + [(tantivy.Occur.MustNot, q) for q in must_not]
    )


def _parts(clauses: list[list[Term]]) -> tuple[list, list] | None:
    """(one required query per clause, the scoring-only queries); None when some clause
    can match nothing."""
    must, should = [], []
    for clause in clauses:
        parts = [p for p in map(_term_parts, clause) if p is not None]
        if not parts:
            return None
        must.append(parts[0][0] if len(parts) == 1 else _any([m for m, _ in parts]))
        should += [q for _, extra in parts for q in extra]
    return must, should


def _scored(must: list, should: list, filters=(), must_not=()) -> tantivy.Query:
    if len(must) == 1:
        # One clause: a union with its title part matches the same documents (the title is
        # in the text), and tantivy ranks it faster than a required part with an optional
        # one (bench/README.md).
        must = [_any([must[0], *should]) if should else must[0]]
        should = []
    if len(must) == 1 and not filters and not must_not:
        return must[0]
    return tantivy.Query.boolean_query(
        [(tantivy.Occur.Must, q) for q in [*must, *filters]]
        + [(tantivy.Occur.Should, q) for q in should]
        + [(tantivy.Occur.MustNot, q) for q in must_not]
    )


def clauses_query(clauses: list[list[Term]]) -> tantivy.Query | None:
    """AND of ORs; None when some clause can match nothing."""
    parts = _parts(clauses)
    return _scored(*parts) if parts and parts[0] else None


def any_query(terms: list[Term]) -> tantivy.Query | None:
    """Documents holding any of these terms (for excluding them: not scored)."""
    options = [p[0] for p in map(_term_parts, terms) if p is not None]
    return (options[0] if len(options) == 1 else _any(options)) if options else None


def filter_queries(filters: Filters) -> list[tantivy.Query]:
    """Dates and category as index filters (the database checks every hit again)."""
    out = []
    if filters.after or filters.before:
        low = int(day_start(filters.after).timestamp()) if filters.after else None
        high = (
            int(day_start(filters.before + dt.timedelta(days=1)).timestamp()) - 1
            if filters.before
            else None
        )
        out.append(
            tantivy.Query.range_query(SCHEMA, "published", tantivy.FieldType.Integer, low, high)
        )
    if filters.category:
        out.append(tantivy.Query.term_query(SCHEMA, "cat", filters.category.lower()))
    return out


def build(query: Query, filters: Filters) -> tantivy.Query | None:
    """The query tree and the filters as one tantivy query (None: nothing can match)."""
    parts = _parts(query.clauses)
    if not parts or not parts[0]:
        return None
    excluded = any_query(query.excluded)
    return _scored(*parts, filter_queries(filters), [excluded] if excluded is not None else [])


def restrict(query: tantivy.Query, ids: Sequence[int]) -> tantivy.Query:
    return _all([query, tantivy.Query.term_set_query(SCHEMA, "id", list(ids))])


def search(query: tantivy.Query, limit: int) -> Ranked:
    """(paper id, BM25 score), best first."""
    return search_counted(query, limit, count=False)[0]


def search_counted(query: tantivy.Query, limit: int, count: bool = True) -> tuple[Ranked, int]:
    """The best `limit` hits and, with `count`, how many documents match (0 without).

    Counting in the same pass costs almost nothing: block-max pruning saves little on these
    corpora, so the top hits are found by scoring every match anyway, where a second,
    counting pass would cost the whole search again (bench/README.md)."""
    s = searcher()
    if s is None or limit <= 0:
        return [], 0
    found = s.search(query, limit, count=count)
    matched = (found.count or 0) if count else 0
    if not found.hits:
        return [], matched
    ids = s.fast_field_values("id", [address for _, address in found.hits])
    hits = [(int(pid), float(score)) for (score, _), pid in zip(found.hits, ids, strict=True)]
    return hits, matched


def count(query: tantivy.Query) -> int:
    s = searcher()
    return s.search(query, 1, count=True).count if s is not None else 0


def estimated(query: Query, filters: Filters, cap: int) -> int | None:
    """How many documents match, at most `cap`, estimated from document frequencies
    (clauses taken as independent); None when some clause is rare enough for counting to
    be cheap, or dates filter (no cheap estimate): then the search counts. Counting every
    match of "learning model" in a million papers costs more than finding the best
    hundred."""
    s = searcher()
    if s is None or not query.clauses:
        return 0
    total = max(1, s.num_docs)
    bound, fraction = total, 1.0
    for clause in query.clauses:
        postings, missing = 0, 1.0  # the clause's postings, and the share matching none
        for term in clause:
            tokens = words(term.text)
            for field in ["title"] if term.title_only else MATCH_FIELDS:
                df = min((s.doc_freq(field, t) for t in tokens), default=0)
                postings += df
                missing *= 1 - df / total
        bound = min(bound, postings)
        fraction *= 1 - missing
    if bound <= 2 * cap or filters.after or filters.before:
        return None
    if filters.category:
        fraction *= s.doc_freq("cat", filters.category.lower()) / total
    return min(cap, round(total * fraction))


def estimate(query: Query, filters: Filters, cap: int) -> int:
    """How many documents match, at most `cap`: estimated, or counted (`estimated`)."""
    guess = estimated(query, filters, cap)
    if guess is not None:
        return guess
    wanted = build(query, filters)
    return min(cap, count(wanted)) if wanted is not None else 0


def share(field: str, term: str) -> float:
    """The share of documents holding this exact (unanalysed) term; 1.0 with no index."""
    s = searcher()
    if s is None or not s.num_docs:
        return 1.0
    return s.doc_freq(field, term) / s.num_docs
