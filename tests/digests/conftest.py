"""Fixtures for the digest tests: Django pointed at the real SMTP server, subscribers,
papers listed today and indexed for search."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.utils import timezone
from factories import make_listing, make_user

from broadsheet.digests.models import Subscription
from broadsheet.digests.periods import DAILY, Period

# A Wednesday: daily digests (weekdays by default) go out.
NOW = dt.datetime(2026, 11, 25, 7, 0, tzinfo=dt.UTC)
TODAY = Period(DAILY, NOW.date())


@pytest.fixture(autouse=True)
def digest_settings(settings):
    settings.TIME_ZONE = "UTC"
    settings.SITE_URL = "https://papers.example.org"
    # Saved searches by words only: the tests are about digests, not the model.
    settings.SEARCH_SEMANTIC = False
    settings.DIGEST_RETRY_SECONDS = 60
    settings.DIGEST_MAX_ATTEMPTS = 3
    settings.DIGEST_BOUNCE_LIMIT = 2
    return settings


@pytest.fixture(autouse=True)
def clock():
    """The digest tests run on a Wednesday morning (the clock ticks on from there)."""
    with time_machine.travel(NOW, tick=True) as traveller:
        yield traveller


@pytest.fixture
def smtp(settings, smtp_server):
    """Django's SMTP backend talking to the real server of the `smtp_server` fixture."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = smtp_server.host
    settings.EMAIL_PORT = smtp_server.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 5
    return smtp_server


def make_subscriber(email: str = "reader@example.org", user=None, **fields) -> Subscription:
    fields.setdefault("confirmed_at", NOW - dt.timedelta(days=3))
    fields.setdefault("created", NOW - dt.timedelta(days=3))
    return Subscription.objects.create(email=email, user=user, **fields)


@pytest.fixture
def trending(db):
    """Three papers listed yesterday evening, with different vote counts."""
    day = NOW.date() - dt.timedelta(days=1)
    at = NOW - dt.timedelta(hours=10)
    return [
        make_listing(day, f"Trending paper {i}", votes=votes, submitted_at=at).paper
        for i, votes in enumerate([50, 20, 5], start=1)
    ]


@pytest.fixture
def subscriber(db):
    return make_subscriber()


@pytest.fixture
def member_subscriber(db):
    user = make_user("grace")
    return make_subscriber(user.email, user=user)


def indexed(*papers):
    from broadsheet.search.indexing import index_papers

    index_papers([p.pk for p in papers])
    return papers


def now():
    return timezone.now()
