"""Fetching papers and listings with everything a serialiser reads, in a fixed number of
queries whatever the count (no per-item queries)."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Count, Prefetch, prefetch_related_objects

from broadsheet.papers.models import Authorship, Comment, Listing, Paper
from broadsheet.papers.querysets import comment_count


def papers_for_output():
    """Visible papers with authors, listing (and its submitter) and comment count."""
    return (
        Paper.objects.visible()
        .select_related("listing", "listing__submitted_by")
        .prefetch_related(
            Prefetch(
                "authorships",
                queryset=Authorship.objects.select_related("author").order_by("position"),
            )
        )
        .annotate(comment_count=comment_count("pk"))
    )


def with_output_relations(papers: list[Paper]) -> list[Paper]:
    """Papers already loaded (a search's page) given what papers_for_output() adds: authors,
    listing and its submitter, comment count. Two queries and one per relation, without
    reading the papers again."""
    prefetch_related_objects(
        papers,
        Prefetch(
            "authorships",
            queryset=Authorship.objects.select_related("author").order_by("position"),
        ),
        "listing__submitted_by",
    )
    counts = dict(
        Comment.objects.counted()
        .filter(paper__in=[p.pk for p in papers])
        .order_by()
        .values("paper")
        .annotate(n=Count("id"))
        .values_list("paper", "n")
    )
    for paper in papers:
        paper.comment_count = counts.get(paper.pk, 0)
    return papers


def papers_in_order(ids: Iterable[int]) -> list[Paper]:
    ids = list(ids)
    found = papers_for_output().in_bulk(ids)
    return [found[i] for i in ids if i in found]


def get_paper(ref: str) -> Paper | None:
    """A visible paper by arXiv id (with or without a version), or slug."""
    return papers_for_output().find(ref)


def visible_listing(paper: Paper) -> Listing | None:
    """The paper's listing, unless there is none or a moderator hid it."""
    try:
        listing = paper.listing
    except Listing.DoesNotExist:
        return None
    return None if listing.hidden else listing
