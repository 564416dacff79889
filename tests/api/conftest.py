"""Fixtures for the API tests: generous rate limits, the search index, tokens."""

from __future__ import annotations

import pytest

from broadsheet.api.tokens import create_token
from broadsheet.papers.models import Paper
from broadsheet.search.indexing import index_papers


@pytest.fixture(autouse=True)
def api_settings(settings):
    # Tests that are not about rate limits must never meet one; those that are set their own.
    settings.API_RATE_LIMIT_ANONYMOUS = 100_000
    settings.API_RATE_LIMIT_TOKEN = 100_000
    settings.VOTES_PER_MINUTE = 1000
    return settings


@pytest.fixture
def index():
    """Put papers a test made into the search index, as an import does: `index(paper, ...)`.
    By words only: no vectors, so no model is loaded (search's own tests cover meaning)."""

    def run(*papers: Paper) -> None:
        index_papers([p.pk for p in papers])

    return run


@pytest.fixture
def read_token(member) -> str:
    return create_token(member, "reader", "read")[1]


@pytest.fixture
def write_token(member) -> str:
    return create_token(member, "writer", "write")[1]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
