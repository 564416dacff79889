"""What the rest of the site may ask of a search backend (`get_backend()` returns one).

Searching, keeping the indexes in step with the papers, and saying how they are. Nothing
outside `broadsheet.search.backends` knows which backend runs: it calls these methods only.
Shared implementations live in base.py; `embedded/` and `postgresql/` fill in the rest.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    import numpy as np

    from broadsheet.search.query import Query, Term
    from broadsheet.search.results import Filters

Ranked = list[tuple[int, float]]  # (paper id, score), best first
PaperText = tuple[str, str, list[str]]  # title, abstract, author names in order


class IndexProblem(Exception):
    """The search index cannot serve searches as it is (a missing file); the message says
    what to run."""


@dataclass
class IndexStatus:
    """The figures the status page shows for the search index, beside the document counts."""

    counts: dict[str, int] = field(default_factory=dict)  # label: how many
    sizes: dict[str, int] = field(default_factory=dict)  # label: bytes
    generation: str | None = None  # which vector index is current, when there are files


@runtime_checkable
class SearchBackend(Protocol):
    vendor: str

    # Searching ---------------------------------------------------------------------------

    def pinned(self) -> AbstractContextManager[None]:
        """A block inside which every call sees one state of the indexes (a search)."""
        ...

    def lexical(self, query: Query, filters: Filters, limit: int) -> Ranked:
        """Papers matching the query's words, best first."""
        ...

    def lexical_count(self, query: Query, filters: Filters, cap: int) -> int:
        """How many papers match the query's words, at most `cap` (may be an estimate)."""
        ...

    def lexical_counted(
        self, query: Query, filters: Filters, limit: int, cap: int
    ) -> tuple[Ranked, int]:
        """`lexical()` and `lexical_count()` together (a backend may find both in one pass)."""
        ...

    def semantic(
        self, vector: np.ndarray, filters: Filters, limit: int, nearest: object = None
    ) -> Ranked:
        """Papers nearest in meaning to `vector`, most similar first (cosine similarity).
        `nearest`: what the function from `nearest_job()` returned for this vector."""
        ...

    def nearest_job(self, filters: Filters, limit: int) -> Callable[[np.ndarray], object] | None:
        """The part of `semantic()` that needs no database, to run in another thread."""
        ...

    def matching(
        self, ids: Sequence[int], required: list[list[Term]], excluded: list[Term]
    ) -> set[int]:
        """The ids whose text satisfies every required clause and no excluded term."""
        ...

    def browse(self, filters: Filters, limit: int) -> Ranked:
        """Papers matching only filters (no words), newest first."""
        ...

    def browse_count(self, filters: Filters, cap: int) -> int: ...

    def has_vectors(self) -> bool:
        """Can `semantic()` find anything (are any vectors searchable)?"""
        ...

    def vector_of(self, paper_id: int) -> np.ndarray | None: ...

    def vectors_of(self, ids: Sequence[int]) -> dict[int, np.ndarray]:
        """The stored vectors of those of `ids` that have one, by ascending id."""
        ...

    def id_filter(self, ids: Sequence[int]) -> tuple[str, list]:
        """`IN ...` (text and parameters) for a WHERE clause on these paper ids."""
        ...

    # Indexing ----------------------------------------------------------------------------

    def sync_documents(
        self, paper_ids: Sequence[int], texts: Mapping[int, PaperText] | None = None
    ) -> list[int]:
        """Create or refresh the search documents of these papers; returns the ids that are
        papers (the others' documents and index entries are dropped)."""
        ...

    def index_documents(
        self, paper_ids: Sequence[int], texts: Mapping[int, PaperText] | None = None
    ) -> list[int]:
        """`sync_documents()` and `index_lexical()` of the papers found (a backend may do
        both in one pass); returns the ids that are papers."""
        ...

    def index_lexical(self, paper_ids: Sequence[int]) -> None:
        """Write the lexical entries of these papers (in the caller's transaction)."""
        ...

    def store_vectors(self, items: Sequence[tuple[int, np.ndarray, str]], model_id: int) -> None:
        """Save (paper id, vector, text hash it came from), made by model `model_id`."""
        ...

    def stage_vectors(self, items: Sequence[tuple[int, np.ndarray, str]], model_id: int) -> None:
        """Keep vectors of a model other than the served one beside the served vectors."""
        ...

    def swap_staged_vectors(self, model_id: int) -> int:
        """In the caller's transaction, the staged vectors replace the served ones."""
        ...

    def vector_model(self) -> str | None:
        """The model of the vectors semantic search compares queries with (None: none)."""
        ...

    def sync_vectors(self, full: bool = False) -> int | None:
        """Bring the vector index up to date with the stored vectors (`full`: rebuilt);
        returns how many it holds, or None when the stored vectors are the index."""
        ...

    def prune(self) -> None:
        """Drop index entries of papers that are gone (after a full reindex)."""
        ...

    def catch_up(self) -> int:
        """Index what an interrupted import left unindexed; returns how many papers."""
        ...

    def add_word_counts(self, words: Sequence[str], docs: Sequence[int]) -> None:
        """Add `docs[i]` to the count of papers holding `words[i]` in the spelling vocabulary
        (search_word), in the order given."""
        ...

    def bulk_import(self) -> AbstractContextManager[None]:
        """What an import does around its batches (entered once for the whole run)."""
        ...

    # Status and health -------------------------------------------------------------------

    def status(self) -> IndexStatus: ...

    def health(self) -> str:
        """A line saying the index is usable; raises IndexProblem when it is not."""
        ...
