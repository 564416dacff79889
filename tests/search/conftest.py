"""Fixtures for the search tests: the sample listing, indexed and embedded.

The model embeds the 34 sample abstracts once per session (a few seconds); each test then
loads the sample into its own transaction and stores those cached vectors, so tests stay
isolated and fast. Other texts (papers a test makes) go through the real model.
"""

from __future__ import annotations

import numpy as np
import pytest
from django.core.management import call_command

from broadsheet.ops.sample import sample_records
from broadsheet.papers.models import Paper
from broadsheet.search.embedder import embed_texts, paper_text
from broadsheet.search.indexing import embed_missing, index_papers


@pytest.fixture(scope="session")
def sample_vectors() -> dict[str, np.ndarray]:
    texts = [
        paper_text(" ".join(r["title"].split()), " ".join(r["abstract"].split()))
        for r in sample_records()
    ]
    return dict(zip(texts, embed_texts(texts), strict=True))


@pytest.fixture(scope="session")
def cached_embed(sample_vectors):
    def embed(texts: list[str]) -> np.ndarray:
        missing = [t for t in texts if t not in sample_vectors]
        if missing:
            sample_vectors.update(zip(missing, embed_texts(missing), strict=True))
        return np.stack([sample_vectors[t] for t in texts])

    return embed


@pytest.fixture
def sample(db, cached_embed) -> dict[str, Paper]:
    """The sample listing, indexed and embedded; papers by title."""
    call_command("load-sample", "--day", "2026-06-23", "--no-arxiv", verbosity=0)
    embed_missing(embed=cached_embed)
    return {p.title: p for p in Paper.objects.all()}


@pytest.fixture
def words_only(settings):
    """search() without its semantic list, as on a site with BROADSHEET_SEARCH_SEMANTIC=false:
    what the words alone find, spelling corrections included."""
    settings.SEARCH_SEMANTIC = False


@pytest.fixture
def index(db, cached_embed):
    """Index and embed papers a test made: `index(paper, ...)`."""

    def run(*papers: Paper, embed: bool = True) -> None:
        index_papers([p.pk for p in papers])
        if embed:
            embed_missing(embed=cached_embed)

    return run
