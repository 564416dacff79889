"""Schemathesis against /api/v1/openapi.json: generated requests (valid and invalid) to every
operation never get a 5xx, and every response matches the documented schema.

Bounded to a few seconds: a handful of examples per operation, no shrinking deadline.
"""

from __future__ import annotations

import datetime as dt

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from factories import list_paper, make_paper, make_user
from hypothesis import HealthCheck, settings
from schemathesis.checks import positive_data_acceptance
from schemathesis.config import SchemathesisConfig

from broadsheet.api.tokens import create_token

MAX_EXAMPLES = 10


# Loaded at collection (Django is set up by then; the document needs no database).
# schemathesis.pytest.from_fixture would defer it, but it breaks on pytest 9.
schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", get_wsgi_application())
# With a token, random cases only: the coverage phase's boundary values (the slow part) already
# ran anonymously, and authentication comes before any of them is looked at.
fuzz_only = SchemathesisConfig.from_dict({"phases": {"coverage": {"enabled": False}}})
token_schema = schemathesis.openapi.from_wsgi(
    "/api/v1/openapi.json", get_wsgi_application(), config=fuzz_only
)


@pytest.fixture
def papers(db):
    # Calling the WSGI app directly sends request_started/finished, whose handler would close
    # the test's database connection mid-transaction; Django's test client disconnects it too.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    alice = make_user("alice")
    for i in range(3):
        paper = make_paper(
            f"Fuzzed paper {i}",
            arxiv_id=f"2606.0000{i}",
            authors=["A. Author"],
            categories=["cs.CL"],
            published_at=dt.datetime(2026, 6, 20 + i, tzinfo=dt.UTC),
        )
        if i:
            list_paper(paper, dt.date(2026, 6, 23), submitted_by=alice if i == 1 else None)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


# Operations whose schema-valid input may still be refused by a rule no schema states: an ISO
# week that the year does not have (2025-W53), an arXiv id arXiv never issued.
RULES_BEYOND_THE_SCHEMA = {"/api/v1/listings", "/api/v1/submissions"}
# A saved query of only spaces or control characters; a digest setting before subscribing.
RULES_BEYOND_THE_SCHEMA |= {"/api/v1/me/saved-searches", "/api/v1/me/subscription"}
# A collection name that is blank once trimmed, or one the member already has (409).
RULES_BEYOND_THE_SCHEMA |= {"/api/v1/collections", "/api/v1/collections/{id}"}
# `since` with an offset (pages go by cursor), or a date the calendar does not have.
RULES_BEYOND_THE_SCHEMA |= {"/api/v1/papers"}


def _excluded(case) -> list:
    return [positive_data_acceptance] if case.path in RULES_BEYOND_THE_SCHEMA else []


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,  # the same cases every run: a failure here is reproducible
)
def test_anonymous_requests(case, papers):
    case.call_and_validate(excluded_checks=_excluded(case))


@token_schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_requests_with_a_write_token(case, papers):
    # Writes get through authentication and reach the views (votes, submissions).
    user = make_user()
    _, token = create_token(user, "fuzz", "write")
    case.call_and_validate(
        headers={"Authorization": f"Bearer {token}"}, excluded_checks=_excluded(case)
    )
