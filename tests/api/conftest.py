"""Fixtures for the API tests: generous rate limits, the search fallback, tokens."""

from __future__ import annotations

import pytest

from broadsheet.api.tokens import create_token


@pytest.fixture(autouse=True)
def api_settings(settings):
    # Tests that are not about rate limits must never meet one; those that are set their own.
    settings.API_RATE_LIMIT_ANONYMOUS = 100_000
    settings.API_RATE_LIMIT_TOKEN = 100_000
    settings.VOTES_PER_MINUTE = 1000
    return settings


@pytest.fixture(autouse=True)
def search_fallback(monkeypatch):
    """Search through the API's own fallback, not the search app (tested on its own): papers
    made by the factories are not in its index, and the tests here are about the API."""
    monkeypatch.setattr("broadsheet.search.papers_search._engine", lambda: None)


@pytest.fixture
def read_token(member) -> str:
    return create_token(member, "reader", "read")[1]


@pytest.fixture
def write_token(member) -> str:
    return create_token(member, "writer", "write")[1]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
