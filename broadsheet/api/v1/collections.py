"""/api/v1/collections: a member's reading lists (the rules are broadsheet.papers.collections).

Listing your own needs credentials (a token of either scope, or a session); reading one is open
when it is public and needs its owner's credentials when it is private (anyone else gets a 404,
as for a list that does not exist); changing one needs a write-scope token (or session + CSRF)
of its owner.
"""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Router, Status

from broadsheet.api.callers import ApiError
from broadsheet.api.v1.auth import MEMBER, READ, WRITE
from broadsheet.api.v1.papers import _paper_or_404
from broadsheet.api.v1.schemas import (
    CollectionDetailOut,
    CollectionIn,
    CollectionOut,
    CollectionPaperOut,
    CollectionPatch,
    ErrorOut,
)
from broadsheet.api.v1.serialise import collection_out, paper_out
from broadsheet.papers import collections as rules
from broadsheet.papers.loaders import papers_for_output
from broadsheet.papers.models import Collection

router = Router(tags=["collections"])

ERRORS = {400: ErrorOut, 401: ErrorOut, 404: ErrorOut, 429: ErrorOut}
WRITE_ERRORS = ERRORS | {403: ErrorOut, 409: ErrorOut}
PAPERS_MAX = 500  # papers returned with a collection, the most recently added first


def _readable(request: HttpRequest, pk: int) -> Collection:
    collection = rules.readable(request.auth.user, pk)
    if collection is None:
        raise ApiError("Collection not found.", 404)
    return collection


def _owned(request: HttpRequest, pk: int) -> Collection:
    collection = rules.owned(request.auth.user, pk)
    if collection is None:
        raise ApiError("Collection not found.", 404)
    return collection


def _refused(e: rules.CollectionError) -> ApiError:
    return ApiError(str(e), 409 if isinstance(e, rules.NameTaken) else 400)


def _counted(pk: int) -> Collection:
    return Collection.objects.with_counts().select_related("owner").get(pk=pk)


@router.get("/collections", response={200: list[CollectionOut], **ERRORS}, auth=MEMBER)
def my_collections(request: HttpRequest):
    """Your collections, by name."""
    owned = Collection.objects.owned_by(request.auth.user).with_counts().select_related("owner")
    return [collection_out(request, c) for c in owned]


@router.post("/collections", response={201: CollectionOut, **WRITE_ERRORS}, auth=WRITE)
def create_collection(request: HttpRequest, data: CollectionIn):
    """Make a collection (private unless `public` is true). 409 if you have one of that name."""
    try:
        collection = rules.create(request.auth.user, data.name, public=data.public)
    except rules.CollectionError as e:
        raise _refused(e) from None
    return Status(201, collection_out(request, _counted(collection.pk)))


@router.get("/collections/{id}", response={200: CollectionDetailOut, **ERRORS}, auth=READ)
def get_collection(request: HttpRequest, id: int):
    """A public collection, or one of yours, with its papers (the most recently added first)."""
    collection = _readable(request, id)
    papers = (
        papers_for_output()
        .filter(collection_items__collection=collection)
        .order_by("-collection_items__added", "-collection_items__id")[:PAPERS_MAX]
    )
    return collection_out(request, _counted(collection.pk)) | {
        "papers": [paper_out(request, p) for p in papers]
    }


@router.patch("/collections/{id}", response={200: CollectionOut, **WRITE_ERRORS}, auth=WRITE)
def update_collection(request: HttpRequest, id: int, data: CollectionPatch):
    """Rename a collection of yours and/or make it public or private."""
    collection = _owned(request, id)
    try:
        rules.update(collection, name=data.name, public=data.public)
    except rules.CollectionError as e:
        raise _refused(e) from None
    return collection_out(request, _counted(collection.pk))


@router.delete("/collections/{id}", response={204: None, **WRITE_ERRORS}, auth=WRITE)
def delete_collection(request: HttpRequest, id: int):
    """Delete a collection of yours (the papers stay on the site)."""
    rules.delete(_owned(request, id))
    return Status(204, None)


def _change(request: HttpRequest, id: int, ref: str, add: bool) -> dict:
    collection = _owned(request, id)
    paper = _paper_or_404(ref)
    changed = rules.add_paper(collection, paper) if add else rules.remove_paper(collection, paper)
    return {
        "collection": collection.pk,
        "paper": paper.ref,
        "inCollection": add,
        "changed": changed,
    }


@router.put(
    "/collections/{id}/papers/{path:ref}",
    response={200: CollectionPaperOut, **WRITE_ERRORS},
    auth=WRITE,
)
def add_paper(request: HttpRequest, id: int, ref: str):
    """Add a paper to a collection of yours (adding it again changes nothing)."""
    return _change(request, id, ref, add=True)


@router.delete(
    "/collections/{id}/papers/{path:ref}",
    response={200: CollectionPaperOut, **WRITE_ERRORS},
    auth=WRITE,
)
def remove_paper(request: HttpRequest, id: int, ref: str):
    """Remove a paper from a collection of yours (removing one that is not there changes
    nothing)."""
    return _change(request, id, ref, add=False)
