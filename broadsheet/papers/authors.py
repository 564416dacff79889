"""Author pages and claims: addresses for author names, claiming a name, editing links.

An author's address is `/authors/<name-slug>-<id>`: the id finds the row, the name makes the
address readable. It is derived rather than stored, so ingest (which creates authors in bulk)
needs to know nothing about it; an address whose name part is stale redirects.
"""

from __future__ import annotations

import re

from django.utils import timezone
from django.utils.text import slugify

from broadsheet.papers.models import Author, AuthorClaim, Paper

_REF = re.compile(r"(?:(.*)-)?(\d{1,18})", re.ASCII)


class ClaimRefused(Exception):
    """A claim that cannot be made (a 400 with the message)."""


def author_slug(author: Author) -> str:
    name = slugify(author.name)[:80].strip("-")
    return f"{name}-{author.pk}" if name else str(author.pk)


def author_by_slug(slug: str) -> Author | None:
    m = _REF.fullmatch(slug)
    if not m:
        return None
    return Author.objects.select_related("claimed_by").filter(pk=int(m[2])).first()


def papers_of(author: Author):
    """The author's visible papers, newest first."""
    return (
        Paper.objects.visible()
        .filter(authorships__author=author)
        .order_by("-published_at", "-id")
        .distinct()
    )


def claim(user, author: Author, message: str = "") -> tuple[AuthorClaim, bool]:
    """Ask to be recognised as `author`. Asking again updates the one pending claim (returns
    created=False); a claim already decided is not reopened."""
    if author.claimed_by_id == user.pk:
        raise ClaimRefused(f"You are already recognised as {author.name}.")
    if author.claimed_by_id is not None:
        raise ClaimRefused(f"{author.name} is already claimed by another member.")
    existing = AuthorClaim.objects.filter(author=author, user=user).first()
    if existing is not None:
        if existing.status == AuthorClaim.Status.REJECTED:
            raise ClaimRefused("A moderator already turned this claim down.")
        existing.message = message[:500]
        existing.save(update_fields=["message"])
        return existing, False
    claim, created = AuthorClaim.objects.get_or_create(
        author=author,
        user=user,
        defaults={"message": message[:500], "created": timezone.now()},
    )
    return claim, created


def is_claimed_author(user, paper: Paper) -> bool:
    """Whether `user` is a confirmed author of `paper`. Reads the prefetched authorships."""
    if not user.is_authenticated:
        return False
    return any(a.author.claimed_by_id == user.pk for a in paper.authorships.all())
