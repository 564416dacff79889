"""The Hugging Face Papers API's JSON shapes (see docs/api.md, "Hugging Face-compatible API").

Field names and date formats follow huggingface.co exactly, since clients parse them: dates are
UTC with milliseconds and a `Z` (huggingface_hub's parser accepts only that form). An item of
`/api/daily_papers` is a listing: its `publishedAt` is when the paper was listed, while
`paper.publishedAt` is the paper's own date.
"""

from __future__ import annotations

import datetime as dt

from broadsheet.papers.loaders import visible_listing
from broadsheet.papers.models import Listing, Paper


def hf_datetime(value: dt.datetime | None) -> str | None:
    if value is None:
        return None
    utc = value.astimezone(dt.UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def hf_user(user) -> dict | None:
    if user is None:
        return None
    return {
        "user": user.username,
        "name": user.username,
        "fullname": user.get_full_name() or user.username,
        "type": "user",
    }


def hf_paper(paper: Paper) -> dict:
    """The paper object (top level of /api/papers/{id}, `paper` in list items)."""
    listing = visible_listing(paper)
    data: dict = {
        "id": paper.ref,
        "authors": [{"name": a.author.name, "hidden": False} for a in paper.authorships.all()],
        "publishedAt": hf_datetime(paper.published_at),
        "title": paper.title,
        "summary": paper.abstract,
        "upvotes": paper.votes,
    }
    if listing is not None:
        data["submittedOnDailyAt"] = hf_datetime(listing.submitted_at)
        data["submittedOnDailyBy"] = hf_user(listing.submitted_by)
    if paper.github_repo:
        data["githubRepo"] = paper.github_repo
        if paper.github_stars is not None:
            data["githubStars"] = paper.github_stars
    if paper.project_url:
        data["projectPage"] = paper.project_url
    if paper.ai_keywords:
        data["ai_keywords"] = list(paper.ai_keywords)
    return data


def hf_paper_detail(paper: Paper) -> dict:
    """/api/papers/{id}: the paper object plus its comment count."""
    return hf_paper(paper) | {"numComments": getattr(paper, "comment_count", 0)}


# Links are inside `paper` on huggingface.co, but huggingface_hub's PaperInfo reads them from
# the item's top level; repeating them there lets the client see them in lists too.
_LINKS = ("githubRepo", "githubStars", "projectPage")


def _item(paper_data: dict) -> dict:
    return {"paper": paper_data, **{k: paper_data[k] for k in _LINKS if k in paper_data}}


def hf_listing_item(listing: Listing) -> dict:
    """One item of /api/daily_papers (a listing from ListingQuerySet.for_cards())."""
    paper = listing.paper
    # hf_paper reads paper.listing; point it at this row rather than query it again.
    paper.listing = listing
    return {
        **_item(hf_paper(paper)),
        "publishedAt": hf_datetime(listing.submitted_at),
        "title": paper.title,
        "summary": paper.abstract,
        "numComments": getattr(listing, "comment_count", 0),
        "submittedBy": hf_user(listing.submitted_by),
        "isAuthorParticipating": False,
    }


def hf_search_item(paper: Paper) -> dict:
    """One item of /api/papers/search: like a daily item; a paper that is in the corpus but
    not listed has its own date as `publishedAt` and no submitter."""
    listing = visible_listing(paper)
    return {
        **_item(hf_paper(paper)),
        "publishedAt": hf_datetime(listing.submitted_at if listing else paper.published_at),
        "title": paper.title,
        "summary": paper.abstract,
        "numComments": getattr(paper, "comment_count", 0),
        "submittedBy": hf_user(listing.submitted_by) if listing else None,
        "isAuthorParticipating": False,
    }
