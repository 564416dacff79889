"""Small helpers that make members, papers, listings and comments for tests.

Plain functions with keyword arguments for whatever a test cares about; everything else gets
a sensible, unique default.
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
from collections.abc import Iterable

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.utils import timezone
from django.utils.text import slugify

from broadsheet.papers.models import Author, Authorship, Comment, Listing, Paper, Upvote

PASSWORD = "correct-horse-battery"
_serial = itertools.count(1)


@functools.cache
def password_hash(password: str) -> str:
    """The site's hash of `password` (argon2, deliberately slow), made once per run: members
    made with a password share it, and logging in still checks it as the site does."""
    return make_password(password)


def make_user(
    username: str | None = None,
    *,
    email: str | None = None,
    password: str | None = None,
    **fields,
):
    """A member. Without `password` it has none (tests log in with force_login)."""
    username = username or f"member{next(_serial)}"
    email = email if email is not None else f"{username}@example.org"
    user = get_user_model().objects.create_user(username, email, None, **fields)
    if password is not None:
        user.password = password_hash(password)
        user.save(update_fields=["password"])
    return user


def make_paper(
    title: str | None = None, *, authors: Iterable[str] = (), slug: str | None = None, **fields
) -> Paper:
    n = next(_serial)
    title = title or f"A study of things, part {n}"
    slug = slug or f"{slugify(title)[:60].strip('-') or 'paper'}-{n}"
    fields.setdefault("abstract", f"We study things ({n}). They turn out to be interesting.")
    paper = Paper.objects.create(title=title, slug=slug, **fields)
    add_authors(paper, authors)
    return paper


def add_authors(paper: Paper, names: Iterable[str]) -> None:
    Authorship.objects.bulk_create(
        Authorship(paper=paper, author=Author.objects.get_or_create(name=name)[0], position=i)
        for i, name in enumerate(names)
    )


def list_paper(
    paper: Paper,
    day: dt.date,
    *,
    submitted_by=None,
    submitted_at: dt.datetime | None = None,
    **fields,
) -> Listing:
    if submitted_at is None:
        submitted_at = timezone.make_aware(dt.datetime.combine(day, dt.time(9, 0)))
    if submitted_by is not None:
        fields.setdefault("source", Listing.Source.MEMBER)
    else:
        fields.setdefault("source", Listing.Source.IMPORT)
    return Listing.objects.create(
        paper=paper, day=day, submitted_by=submitted_by, submitted_at=submitted_at, **fields
    )


def make_listing(
    day: dt.date,
    title: str | None = None,
    *,
    votes: int = 0,
    submitted_by=None,
    submitted_at: dt.datetime | None = None,
    listing_hidden: bool = False,
    **paper_fields,
) -> Listing:
    """A paper listed on `day` with `votes` votes (brought from its source, no Upvote rows)."""
    paper = make_paper(title, source_upvotes=votes, **paper_fields)
    return list_paper(
        paper, day, submitted_by=submitted_by, submitted_at=submitted_at, hidden=listing_hidden
    )


def make_comment(paper: Paper, user, body: str = "Nice result.", **fields) -> Comment:
    return Comment.objects.create(paper=paper, user=user, body=body, **fields)


def upvote(user, paper: Paper) -> Upvote:
    """An upvote row with the count kept in step, as the voting rules do."""
    from broadsheet.papers.votes import add_upvote

    add_upvote(user, paper)
    return Upvote.objects.get(user=user, paper=paper)
