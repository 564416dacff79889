"""The sample listing shipped with Broadsheet: a real Daily Papers page of 2026-06-23."""

from __future__ import annotations

import datetime as dt
import json
from importlib import resources

from django.db import IntegrityError, transaction
from django.utils import timezone

from broadsheet.papers.models import Listing, Paper
from broadsheet.papers.signals import papers_changed
from broadsheet.papers.slugs import unique_slug

SAMPLE_DAY = dt.date(2026, 6, 23)


def sample_records() -> list[dict]:
    text = resources.files("broadsheet.papers").joinpath("data/seed-papers.json").read_text()
    return json.loads(text)["papers"]


def _links(urls: list[str]) -> dict:
    fields = {"github_repo": "", "project_url": ""}
    for url in urls:
        if url.startswith("https://github.com/") and not fields["github_repo"]:
            fields["github_repo"] = url
        elif not fields["project_url"]:
            fields["project_url"] = url
    return fields


def load_sample() -> tuple[int, int]:
    """Load the sample papers and list them on SAMPLE_DAY. Returns (created, already there).

    Papers are matched by title, so loading twice changes nothing.
    """
    try:
        return _load_sample()
    except IntegrityError:
        # A load running at the same time committed the same papers first (on PostgreSQL our
        # insert waited for it on the unique slug); now they are there to be matched.
        return _load_sample()


@transaction.atomic
def _load_sample() -> tuple[int, int]:
    listed_at = timezone.make_aware(dt.datetime.combine(SAMPLE_DAY, dt.time(9, 0)))
    created = existing = 0
    new_ids: list[int] = []
    for i, rec in enumerate(sample_records()):
        title = " ".join(rec["title"].split())
        paper = Paper.objects.filter(title=title, arxiv_id=None).first()
        if paper is None:
            published = dt.datetime.combine(dt.date.fromisoformat(rec["published_on"]), dt.time())
            paper = Paper.objects.create(
                slug=unique_slug(title, lambda s: Paper.objects.filter(slug=s).exists()),
                title=title,
                abstract=" ".join(rec["abstract"].split()),
                published_at=timezone.make_aware(published, dt.UTC),
                author_count=rec["authors_count"],
                source_upvotes=rec["upvotes"],
                **_links(rec["links"]),
            )
            created += 1
            new_ids.append(paper.pk)
        else:
            existing += 1
        Listing.objects.get_or_create(
            paper=paper,
            defaults={
                "day": SAMPLE_DAY,
                # A minute apart, in the file's order, so ties keep the listing's order.
                "submitted_at": listed_at - dt.timedelta(minutes=i),
                "source": Listing.Source.SAMPLE,
            },
        )
    if new_ids:
        papers_changed.send(sender=Paper, paper_ids=new_ids)
    return created, existing
