"""PostgreSQL with BROADSHEET_SEARCH_ENGINE=embedded: the embedded engine's search (tantivy
for words, a faiss file for meaning) from indexes in this node's data directory.

The database stays the source of truth; the indexes are a per-node cache that the node's
follower (follower.py, `broadsheet search-follow`, started by `broadsheet serve`) keeps in
step from the change log. Writers therefore do not touch any index: their transaction's
triggers log what changed, and every node replays it. Every hit is still checked against
papers_paper (hidden papers, filters), so a hide is gone from results as soon as it commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext

from broadsheet.search.backends.base import in_list
from broadsheet.search.backends.embedded import lexical_index, node_state
from broadsheet.search.backends.embedded.backend import EmbeddedBackend
from broadsheet.search.backends.postgresql.backend import PostgresBackend
from broadsheet.search.backends.protocol import IndexProblem, IndexStatus
from broadsheet.search.fields import from_pg_binary


class PostgresEmbeddedBackend(EmbeddedBackend):
    vendor = "postgresql"
    vector_cast = "::vector"

    # The SQL dialect of the filters and of the word counts is PostgreSQL's.
    category_sql = PostgresBackend.category_sql
    icontains = PostgresBackend.icontains
    add_word_counts = PostgresBackend.add_word_counts
    stored_vector_sql = PostgresBackend.stored_vector_sql
    from_stored = PostgresBackend.from_stored

    def id_filter(self, ids: Sequence[int]) -> tuple[str, list]:
        return f"IN {in_list(ids)}", []

    def not_hidden(self, where: str) -> str:
        return "p.hidden = %s"

    def embedding_sql(self) -> str:
        return "vector_send(d.embedding)"  # bytes: a 4-byte header, big-endian float32

    def vector_rows(self, rows: list[tuple[int, bytes]]) -> list[tuple[int, bytes]]:
        return [(pid, from_pg_binary(v).astype("<f4", copy=False).tobytes()) for pid, v in rows]

    # Indexing: the node's follower does it, from the change log ------------------------

    def catch_up(self) -> int:
        return 0

    def bulk_import(self) -> AbstractContextManager[None]:
        return nullcontext()

    def forget(self, paper_ids: Sequence[int]) -> None:
        pass

    def index_lexical(self, paper_ids: Sequence[int]) -> None:
        pass

    def prune(self) -> None:
        pass

    def sync_vectors(self, full: bool = False) -> int | None:
        return None

    # Status and health -------------------------------------------------------------------

    def status(self) -> IndexStatus:
        from broadsheet.search.backends.postgresql import follower

        status = super().status()
        status.counts = {
            "changes this node has not indexed yet": follower.lag(),
            "papers whose vectors wait for the next apply": follower.vectors_pending(),
        }
        return status

    def health(self) -> str:
        state = node_state.read()
        if state.get("watermark") is None:
            raise IndexProblem(
                f"this node's search index in {node_state.node_dir()} is not built yet; "
                "run `broadsheet search-follow` (`broadsheet serve` starts it)"
            )
        name = state.get("lexical")
        if not name or not (lexical_index.base_dir() / name / "meta.json").exists():
            raise IndexProblem(f"lexical index {name} is missing; restart `search-follow`")
        return f"node-local: lexical {name}, vectors {state.get('vectors', {}).get('filename')}"
