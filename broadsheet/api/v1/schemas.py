"""Request and response schemas of /api/v1/ (they are also its OpenAPI document).

Field names are camelCase, like the Hugging Face-compatible endpoints, so one client style fits
both; datetimes are ISO 8601 with a time zone.
"""

from __future__ import annotations

import datetime as dt

from ninja import Schema
from pydantic import Field


class ErrorOut(Schema):
    error: str


class MemberOut(Schema):
    username: str
    url: str


class ListingBrief(Schema):
    day: dt.date
    submittedAt: dt.datetime
    submittedBy: MemberOut | None
    source: str


class PaperOut(Schema):
    id: str = Field(description="The id used in URLs: the arXiv id (no version), else a slug")
    arxivId: str | None
    arxivVersion: int | None
    doi: str | None
    title: str
    abstract: str
    authors: list[str]
    authorCount: int
    publishedAt: dt.datetime | None
    updatedAt: dt.datetime | None
    primaryCategory: str
    categories: list[str]
    absUrl: str
    pdfUrl: str
    projectUrl: str
    githubRepo: str
    githubStars: int | None
    aiKeywords: list[str] = Field(
        description="A few key phrases extracted from the title and abstract (empty until computed)"
    )
    votes: int = Field(description="Members' upvotes plus the votes brought from the source")
    memberUpvotes: int
    sourceUpvotes: int
    commentCount: int
    url: str = Field(description="The paper's page on this site")
    listing: ListingBrief | None


class PaperPage(Schema):
    items: list[PaperOut]
    total: int
    limit: int
    offset: int
    nextSince: str | None = Field(
        description="Pass as `since` to get only what arrives after this page (with `since`: "
        "after its last item; without: after the newest item now). Null when there is none."
    )


class ListingOut(Schema):
    day: dt.date
    submittedAt: dt.datetime
    submittedBy: MemberOut | None
    source: str
    votes: int
    commentCount: int
    paper: PaperOut


class ListingPage(Schema):
    items: list[ListingOut]
    total: int
    limit: int
    offset: int
    nextSince: str | None = Field(
        description="Pass as `since` to get only what arrives after this page (with `since`: "
        "after its last item; without: after the newest item now). Null when there is none."
    )


class SearchHitOut(Schema):
    paper: PaperOut
    titleHtml: str | None = Field(
        description="The title, HTML-escaped, with <mark> around matched words"
    )
    snippetHtml: str | None


class SearchPage(Schema):
    query: str
    items: list[SearchHitOut]
    total: int
    limit: int
    offset: int


class VoteOut(Schema):
    upvoted: bool
    votes: int


class SubmitIn(Schema):
    arxivId: str = Field(
        min_length=1,
        max_length=300,
        description="An arXiv id or abs/pdf link in any form: 2401.01234v2, arXiv:2401.01234, "
        "https://arxiv.org/abs/2401.01234, hep-th/9901001",
    )


class MeOut(Schema):
    username: str
    auth: str = Field(description='"token" or "session"')
    scope: str = Field(description='"read" or "write"')


class CollectionOut(Schema):
    id: int
    name: str
    public: bool
    owner: MemberOut
    paperCount: int
    createdAt: dt.datetime
    modifiedAt: dt.datetime
    url: str = Field(description="The collection's page on this site")
    bibtexUrl: str


class CollectionDetailOut(CollectionOut):
    papers: list[PaperOut]


class CollectionIn(Schema):
    name: str = Field(min_length=1, max_length=100)
    public: bool = False


class CollectionPatch(Schema):
    name: str | None = Field(None, min_length=1, max_length=100)
    public: bool | None = None


class CollectionPaperOut(Schema):
    collection: int
    paper: str
    inCollection: bool
    changed: bool = Field(description="False when the paper already was (or was not) there")
