"""The rules for putting an arXiv paper on today's feed.

A member pastes an id or an abs/pdf URL. A known paper is listed today; an unknown one is
fetched from arXiv first. Refused, each with its own message: not an arXiv id, no such paper,
already listed (one listing per paper, ever), too old, the member's daily limit reached, arXiv
unreachable. Nothing is stored unless the listing is made. Each look-up at arXiv spends one of
the member's BROADSHEET_SUBMIT_FETCHES_PER_HOUR, whatever arXiv answers: the daily limit only
counts listings made, and unknown ids cost a request to arXiv each.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from broadsheet.ingest.normalise import normalise_arxiv_id
from broadsheet.ingest.records import PaperRecord
from broadsheet.lib.limits import Limit, spend
from broadsheet.papers.models import Listing, Paper


class SubmitError(Exception):
    """A refused submission; str() is the message for the member."""

    def __init__(self, message: str, listing: Listing | None = None):
        super().__init__(message)
        self.listing = listing


def _fetch_from_arxiv(arxiv_id: str) -> PaperRecord | None:
    from broadsheet.ingest.arxiv_api import fetch_one

    return fetch_one(arxiv_id, timeout=settings.SUBMIT_FETCH_TIMEOUT)


def submit(
    user,
    text: str,
    now: dt.datetime | None = None,
    fetch: Callable[[str], PaperRecord | None] = _fetch_from_arxiv,
) -> Listing:
    from broadsheet.ingest.arxiv_api import SourceError
    from broadsheet.ingest.http import FetchError
    from broadsheet.ingest.upsert import Upserter

    now = now or timezone.now()
    arxiv_id, _ = normalise_arxiv_id(text)
    if arxiv_id is None:
        raise SubmitError(
            "That is not an arXiv id or link. Paste something like 2401.01234, "
            "hep-th/9901001 or https://arxiv.org/abs/2401.01234."
        )
    today = Listing.day_of(now)
    paper = Paper.objects.filter(arxiv_id=arxiv_id).select_related("listing").first()
    listing = getattr(paper, "listing", None) if paper else None
    if listing is not None:
        raise SubmitError(f"{arxiv_id} is already listed, on {listing.day:%-d %B %Y}.", listing)
    submitted_today = Listing.objects.filter(submitted_by=user, day=today).count()
    if submitted_today >= settings.SUBMIT_DAILY_LIMIT:
        raise SubmitError(
            f"You have submitted {submitted_today} papers today, the daily limit. "
            "Come back tomorrow."
        )
    record = None
    if paper is None:
        # Raises lib.limits.RateLimited (a 429) before asking arXiv.
        spend(
            Limit("submit-fetch", settings.SUBMIT_FETCHES_PER_HOUR, 3600),
            f"user:{user.pk}",
            "You have asked for too many papers that are not on this site yet.",
        )
        try:
            record = fetch(arxiv_id)
        except (FetchError, SourceError, OSError) as e:
            raise SubmitError(
                f"arXiv could not be reached to look up {arxiv_id} ({e}). Try again in a minute."
            ) from None
        if record is None:
            raise SubmitError(f"arXiv has no paper {arxiv_id}.")
        published = record.published_at
    else:
        published = paper.published_at
    max_age = dt.timedelta(days=settings.SUBMIT_MAX_AGE_DAYS)
    if published is not None and published < now - max_age:
        raise SubmitError(
            f"{arxiv_id} was published on {published:%-d %B %Y}; only papers from the last "
            f"{settings.SUBMIT_MAX_AGE_DAYS} days can be submitted."
        )
    with transaction.atomic():
        if record is not None:
            counts = Upserter().run([record])
            if counts.rejected:
                raise SubmitError(f"arXiv's record for {arxiv_id} is unusable: {counts.reasons[0]}")
            paper = Paper.objects.get(arxiv_id=arxiv_id)
        try:
            with transaction.atomic():
                return Listing.objects.create(
                    paper=paper, day=today, submitted_by=user, submitted_at=now
                )
        except IntegrityError:
            listing = Listing.objects.get(paper=paper)
            raise SubmitError(
                f"{arxiv_id} is already listed, on {listing.day:%-d %B %Y}.", listing
            ) from None
