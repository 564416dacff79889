"""One function per resource: model instances to the dicts the schemas describe.

They read only what the loaders prefetch (loaders.papers_for_output, Listing.for_cards), so a
page of results costs a fixed number of queries.
"""

from __future__ import annotations

from django.http import HttpRequest
from django.urls import reverse

from broadsheet.papers.loaders import visible_listing
from broadsheet.papers.models import Listing, Paper


def member_out(request: HttpRequest, user) -> dict | None:
    if user is None:
        return None
    url = request.build_absolute_uri(reverse("profile", args=[user.username]))
    return {"username": user.username, "url": url}


def listing_brief(request: HttpRequest, listing: Listing | None) -> dict | None:
    if listing is None:
        return None
    return {
        "day": listing.day,
        "submittedAt": listing.submitted_at,
        "submittedBy": member_out(request, listing.submitted_by),
        "source": listing.source,
    }


def paper_out(request: HttpRequest, paper: Paper) -> dict:
    authors = [a.author.name for a in paper.authorships.all()]
    return {
        "id": paper.ref,
        "arxivId": paper.arxiv_id,
        "arxivVersion": paper.arxiv_version,
        "doi": paper.doi,
        "title": paper.title,
        "abstract": paper.abstract,
        "authors": authors,
        "authorCount": len(authors) or paper.author_count or 0,
        "publishedAt": paper.published_at,
        "updatedAt": paper.updated_at,
        "primaryCategory": paper.primary_category,
        "categories": [c for c in paper.categories if isinstance(c, str)]
        if isinstance(paper.categories, list)
        else [],
        "absUrl": paper.abs_url,
        "pdfUrl": paper.pdf_url,
        "projectUrl": paper.project_url,
        "githubRepo": paper.github_repo,
        "githubStars": paper.github_stars,
        "aiKeywords": [k for k in paper.ai_keywords or [] if isinstance(k, str)],
        "votes": paper.votes,
        "memberUpvotes": paper.upvote_count,
        "sourceUpvotes": paper.source_upvotes,
        "commentCount": getattr(paper, "comment_count", 0),
        "url": request.build_absolute_uri(paper.get_absolute_url()),
        "listing": listing_brief(request, visible_listing(paper)),
    }


def listing_out(request: HttpRequest, listing: Listing) -> dict:
    paper = listing.paper
    paper.listing = listing  # the brief reads paper.listing: no second query
    paper.comment_count = getattr(listing, "comment_count", 0)
    return {
        **listing_brief(request, listing),
        "votes": paper.votes,
        "commentCount": paper.comment_count,
        "paper": paper_out(request, paper),
    }


def collection_out(request: HttpRequest, collection) -> dict:
    """A collection from Collection.objects.with_counts().select_related("owner")."""
    return {
        "id": collection.pk,
        "name": collection.name,
        "public": collection.public,
        "owner": member_out(request, collection.owner),
        "paperCount": getattr(collection, "paper_count", 0),
        "createdAt": collection.created,
        "modifiedAt": collection.modified,
        "url": request.build_absolute_uri(collection.get_absolute_url()),
        "bibtexUrl": request.build_absolute_uri(reverse("collection-bib", args=[collection.pk])),
    }
