"""The rules for collections (members' reading lists): who may see and change one, names,
adding and removing papers. Views and the API call these; they never touch the rows
themselves."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.db.models import FilteredRelation, Q

from broadsheet.papers.models import Collection, CollectionItem, Paper

# A member's lists, at most: a list per paper would make the "add to" menu on every card useless
# long before it made the database suffer.
MAX_PER_MEMBER = 200


class CollectionError(Exception):
    """A change refused, with a message for the member."""


class NameTaken(CollectionError):
    """The member already has a collection of that name (a conflict, not a bad request)."""


def _taken(name: str) -> NameTaken:
    return NameTaken(f"You already have a collection called “{name}”.")


def clean_name(name: str) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise CollectionError("Give the collection a name.")
    if len(name) > Collection.NAME_MAX:
        raise CollectionError(
            f"A collection name can be at most {Collection.NAME_MAX} characters "
            f"(this one has {len(name)})."
        )
    if "\x00" in name:
        raise CollectionError("A collection name cannot hold a NUL character.")
    return name


def readable(user, collection_id) -> Collection | None:
    """The collection if this member (or anonymous visitor) may read it, else None: a private
    list of someone else is indistinguishable from one that does not exist."""
    try:
        pk = int(collection_id)
    except (TypeError, ValueError):
        return None
    if not 0 < pk < 2**63:
        return None
    return Collection.objects.readable_by(user).select_related("owner").filter(pk=pk).first()


def owned(user, collection_id) -> Collection | None:
    """The collection if this member owns it (the only one who may change it), else None."""
    collection = readable(user, collection_id)
    if collection is None or user is None or collection.owner_id != user.pk:
        return None
    return collection


def _unique(user, name: str, exclude_pk: int | None = None) -> None:
    taken = Collection.objects.owned_by(user).filter(name__iexact=name)
    if exclude_pk is not None:
        taken = taken.exclude(pk=exclude_pk)
    if taken.exists():
        raise _taken(name)


def create(user, name: str, public: bool = False) -> Collection:
    name = clean_name(name)
    if Collection.objects.owned_by(user).count() >= MAX_PER_MEMBER:
        raise CollectionError(f"You have {MAX_PER_MEMBER} collections, the most a member may.")
    _unique(user, name)
    try:
        with transaction.atomic():
            return Collection.objects.create(owner=user, name=name, public=public)
    except IntegrityError:  # a concurrent request made the same name first
        raise _taken(name) from None


def update(collection: Collection, *, name: str | None = None, public: bool | None = None):
    """Rename and/or change visibility."""
    if name is not None:
        name = clean_name(name)
        _unique(collection.owner, name, exclude_pk=collection.pk)
        collection.name = name
    if public is not None:
        collection.public = public
    try:
        with transaction.atomic():
            collection.save()
    except IntegrityError:
        raise _taken(collection.name) from None
    return collection


def delete(collection: Collection) -> None:
    collection.delete()


def add_paper(collection: Collection, paper: Paper) -> bool:
    """Add; True if it was not there yet. Adding twice changes nothing."""
    try:
        with transaction.atomic():
            CollectionItem.objects.create(collection=collection, paper=paper)
    except IntegrityError:
        return False
    return True


def remove_paper(collection: Collection, paper: Paper) -> bool:
    deleted, _ = CollectionItem.objects.filter(collection=collection, paper=paper).delete()
    return bool(deleted)


def papers_of(collection: Collection):
    """The visible papers of a collection, the most recently added first."""
    return (
        Paper.objects.visible()
        .filter(collection_items__collection=collection)
        .order_by("-collection_items__added", "-collection_items__id")
    )


def menu_for(user, paper_ids) -> tuple[list[tuple[int, str]], dict[int, set[int]]]:
    """The member's collections as (id, name), and {paper id: ids of those holding it}, in
    one query whatever the number of cards (a LEFT JOIN restricted to these papers)."""
    rows = (
        Collection.objects.owned_by(user)
        .annotate(held=FilteredRelation("items", condition=Q(items__paper_id__in=list(paper_ids))))
        .order_by("name", "id")
        .values_list("id", "name", "held__paper_id")
    )
    names: dict[int, str] = {}
    held: dict[int, set[int]] = {}
    for collection_id, name, paper_id in rows:
        names[collection_id] = name
        if paper_id is not None:
            held.setdefault(paper_id, set()).add(collection_id)
    return list(names.items()), held
