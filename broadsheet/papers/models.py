"""The domain: papers, their authors, the daily feed (listings), upvotes, comments, members'
collections and what they are not interested in."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone

from broadsheet.papers.querysets import (
    CollectionQuerySet,
    CommentQuerySet,
    ListingQuerySet,
    PaperQuerySet,
)


class Paper(models.Model):
    """One paper in the corpus. Every ingested paper is searchable; only listed ones are on
    the feed."""

    arxiv_id = models.CharField(max_length=32, unique=True, null=True, blank=True)
    arxiv_version = models.PositiveSmallIntegerField(null=True, blank=True)
    doi = models.CharField(max_length=255, unique=True, null=True, blank=True)
    slug = models.SlugField(max_length=120, unique=True)
    title = models.CharField(max_length=1000)
    abstract = models.TextField(blank=True)
    published_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(null=True, blank=True)
    primary_category = models.CharField(max_length=32, blank=True)
    categories = models.JSONField(default=list, blank=True)
    comment = models.TextField("arXiv comment", blank=True)
    journal_ref = models.CharField(max_length=1000, blank=True)
    abs_url = models.URLField(max_length=500, blank=True)
    pdf_url = models.URLField(max_length=500, blank=True)
    project_url = models.URLField("project page", max_length=500, blank=True)
    github_repo = models.URLField("GitHub repository", max_length=500, blank=True)
    github_stars = models.PositiveIntegerField(null=True, blank=True)
    # The first page's picture: a path under DATA_DIR/thumbnails made by the worker
    # (thumbnails.py; served at /thumbnails/<path>), or until then a source's own image URL
    # (Hugging Face), which the worker downloads into the same store.
    thumbnail = models.CharField(max_length=500, blank=True)
    # When a source tells us only how many authors there are (the sample listing), not who.
    author_count = models.PositiveIntegerField(null=True, blank=True)
    # Votes by members of this site, kept in step with Upvote rows in the same transaction.
    upvote_count = models.PositiveIntegerField(default=0)
    # Votes the paper brought from its source (the sample listing, Hugging Face), kept apart
    # so re-ingesting never clobbers our members' votes. The shown score is the sum.
    source_upvotes = models.PositiveIntegerField(default=0)
    hidden = models.BooleanField(default=False, help_text="Hidden by a moderator")
    # A few key phrases from the title and abstract, computed offline (`broadsheet keywords`);
    # null until computed, so the job finds the papers still to do.
    ai_keywords = models.JSONField(null=True, blank=True)
    # The site day (its time zone) the arXiv ingest of the site's categories first stored this
    # paper, a new submission then: the day of the "New" view it belongs to (papers/arrivals.py).
    # Empty for papers from anywhere else, and for old papers an ingest fills in.
    arrived_on = models.DateField(null=True, blank=True, db_index=True)
    created = models.DateTimeField(auto_now_add=True)
    modified = models.DateTimeField(auto_now=True)

    objects = PaperQuerySet.as_manager()

    class Meta:
        indexes = [
            models.Index(fields=["published_at"]),
            # Search checks its ~120 candidates of each list with `id IN (...) AND hidden =
            # false`. SQLite keeps the rowid in every index entry, so this one answers that
            # from a small index instead of 120 rows of the paper table (bench/README.md).
            models.Index(fields=["hidden"], name="papers_paper_hidden_idx"),
            # The API's `since` cursor: papers in the order they were added or changed.
            models.Index(fields=["modified", "id"], name="papers_paper_modified_idx"),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("paper", args=[self.ref])

    @property
    def ref(self) -> str:
        """The id used in URLs: the arXiv id when there is one, otherwise the slug."""
        return self.arxiv_id or self.slug

    @property
    def thumbnail_src(self) -> str:
        """The thumbnail's URL on this site, or "" while there is none (a source's remote
        image is not shown: pages ask nothing of outside services)."""
        own = f"/thumbnails/{self.pk}.webp"  # what the worker stores (ingest/thumbnails.py)
        return own if self.thumbnail == own else ""

    @property
    def votes(self) -> int:
        return self.upvote_count + self.source_upvotes


class Author(models.Model):
    name = models.CharField(max_length=300, unique=True)
    # The member a moderator confirmed as this author (see AuthorClaim); one per name.
    claimed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="claimed_authors",
    )

    def __str__(self) -> str:
        return self.name


class Authorship(models.Model):
    # No index of its own on paper: the unique (paper, position) index starts with it and
    # serves every lookup by paper, and an import inserts into each index once per author.
    paper = models.ForeignKey(
        Paper, on_delete=models.CASCADE, related_name="authorships", db_index=False
    )
    author = models.ForeignKey(Author, on_delete=models.CASCADE, related_name="authorships")
    position = models.PositiveIntegerField()

    class Meta:
        ordering = ["position"]
        constraints = [
            models.UniqueConstraint(fields=["paper", "position"], name="unique_author_position")
        ]

    def __str__(self) -> str:
        return f"{self.author} ({self.position + 1}) on {self.paper_id}"


class Listing(models.Model):
    """A paper on one day's feed. At most one per paper, ever."""

    class Source(models.TextChoices):
        MEMBER = "member", "Submitted by a member"
        SAMPLE = "sample", "Sample listing"
        HF = "hf", "Hugging Face daily papers"
        IMPORT = "import", "Imported"

    paper = models.OneToOneField(Paper, on_delete=models.CASCADE, related_name="listing")
    day = models.DateField(db_index=True, help_text="The feed day, in the site's time zone")
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="listings",
    )
    submitted_at = models.DateTimeField(default=timezone.now, db_index=True)
    source = models.CharField(max_length=16, choices=Source.choices, default=Source.MEMBER)
    hidden = models.BooleanField(default=False, help_text="Hidden by a moderator")
    # When the listing was stored here: submitted_at may be a source's earlier time, so the
    # API's `since` cursor (listings in the order they arrived) reads this one.
    created = models.DateTimeField(default=timezone.now)

    objects = ListingQuerySet.as_manager()

    class Meta:
        indexes = [models.Index(fields=["created", "id"], name="papers_listing_created_idx")]

    def __str__(self) -> str:
        return f"{self.day}: {self.paper}"

    @staticmethod
    def day_of(moment: dt.datetime) -> dt.date:
        """The feed day a moment belongs to, in the site's time zone."""
        return timezone.localdate(moment)


class Upvote(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="upvotes"
    )
    paper = models.ForeignKey(Paper, on_delete=models.CASCADE, related_name="upvotes")
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "paper"], name="one_upvote_per_member")
        ]
        # Votes per day on /stats read a date range of votes.
        indexes = [models.Index(fields=["created"], name="upvote_created_idx")]

    def __str__(self) -> str:
        return f"{self.user} upvoted {self.paper_id}"


class Comment(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="comments"
    )
    paper = models.ForeignKey(Paper, on_delete=models.CASCADE, related_name="comments")
    # One level of replies: a reply's parent is always a top-level comment.
    parent = models.ForeignKey(
        "self", on_delete=models.CASCADE, null=True, blank=True, related_name="replies"
    )
    body = models.TextField(help_text="Markdown, rendered through a safe subset")
    created = models.DateTimeField(default=timezone.now)
    edited = models.DateTimeField(null=True, blank=True)
    # Deleted by its author while it had replies: kept as a "deleted" placeholder, body cleared.
    deleted = models.BooleanField(default=False)
    hidden = models.BooleanField(default=False, help_text="Hidden by a moderator")

    objects = CommentQuerySet.as_manager()

    class Meta:
        ordering = ["created", "id"]

    def __str__(self) -> str:
        return f"{self.user} on {self.paper_id}: {self.body[:40]}"

    def get_absolute_url(self) -> str:
        return f"{self.paper.get_absolute_url()}#c-{self.pk}"


class CommentReport(models.Model):
    """A member's report of a comment. One row per member and comment: reporting again
    updates the reason and reopens it rather than piling up duplicates."""

    comment = models.ForeignKey(Comment, on_delete=models.CASCADE, related_name="reports")
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="comment_reports"
    )
    reason = models.CharField(max_length=500, blank=True)
    created = models.DateTimeField(default=timezone.now)
    updated = models.DateTimeField(default=timezone.now)
    # Settled by a moderator (the comment hidden, or the report dismissed).
    resolved = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["comment", "reporter"], name="one_report_per_member")
        ]

    def __str__(self) -> str:
        return f"{self.reporter} reported comment {self.comment_id}"


class AuthorClaim(models.Model):
    """A member asking to be recognised as an author name. One row per member and name."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"

    author = models.ForeignKey(Author, on_delete=models.CASCADE, related_name="claims")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="author_claims"
    )
    message = models.CharField(max_length=500, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    created = models.DateTimeField(default=timezone.now)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["author", "user"], name="one_claim_per_member")
        ]

    def __str__(self) -> str:
        return f"{self.user} claims {self.author} ({self.status})"


class ModerationAction(models.Model):
    """The audit log: every moderation action, who took it, on what, why and when.

    Targets are stored by kind, id and a label copied at the time, so the entry still reads
    right after the target changed or was deleted."""

    class Action(models.TextChoices):
        HIDE = "hide", "Hid"
        UNHIDE = "unhide", "Showed again"
        SUSPEND = "suspend", "Suspended"
        UNSUSPEND = "unsuspend", "Lifted the suspension of"
        APPROVE_CLAIM = "approve-claim", "Approved the claim"
        REJECT_CLAIM = "reject-claim", "Rejected the claim"
        DISMISS_REPORTS = "dismiss-reports", "Dismissed the reports on"

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="moderation_actions",
    )
    actor_name = models.CharField(max_length=150)
    action = models.CharField(max_length=32, choices=Action.choices)
    target_type = models.CharField(max_length=32)
    target_id = models.BigIntegerField()
    target_label = models.CharField(max_length=300)
    reason = models.TextField(blank=True)
    created = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created", "-id"]
        permissions = [("moderate", "Can moderate from the site")]

    def __str__(self) -> str:
        return f"{self.actor_name} {self.get_action_display()} {self.target_type} {self.target_id}"


class Collection(models.Model):
    """A member's reading list. Private unless the owner makes it public; a private list is
    visible to its owner only (everyone else gets a 404, as if it did not exist)."""

    NAME_MAX = 100

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="collections"
    )
    name = models.CharField(max_length=NAME_MAX)
    public = models.BooleanField(default=False)
    papers = models.ManyToManyField(Paper, through="CollectionItem", related_name="collections")
    created = models.DateTimeField(default=timezone.now)
    modified = models.DateTimeField(auto_now=True)
    # Set on a collection imported from a library (broadsheet.library): what it was imported
    # from ("file:refs.bib", "zotero:user:123", ...), so that importing the same library again
    # updates this collection, even renamed, rather than making another. Empty: made by hand.
    source = models.CharField(max_length=500, blank=True, default="")
    imported_at = models.DateTimeField(null=True, blank=True)

    objects = CollectionQuerySet.as_manager()

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["owner", "name"], name="unique_collection_name"),
            models.UniqueConstraint(
                fields=["owner", "source"],
                condition=~models.Q(source=""),
                name="one_collection_per_library",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.owner} / {self.name}"

    def get_absolute_url(self) -> str:
        return reverse("collection", args=[self.pk])


class CollectionItem(models.Model):
    collection = models.ForeignKey(Collection, on_delete=models.CASCADE, related_name="items")
    paper = models.ForeignKey(Paper, on_delete=models.CASCADE, related_name="collection_items")
    added = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-added", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["collection", "paper"], name="paper_once_per_collection"
            )
        ]

    def __str__(self) -> str:
        return f"{self.paper_id} in {self.collection_id}"


class Dismissal(models.Model):
    """ "Not interested": a paper a member asked never to be recommended again."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="dismissals"
    )
    paper = models.ForeignKey(Paper, on_delete=models.CASCADE, related_name="dismissals")
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "paper"], name="one_dismissal_per_member")
        ]

    def __str__(self) -> str:
        return f"{self.user} is not interested in {self.paper_id}"


class Shown(models.Model):
    """A paper a member was shown in their New view or sent in their digest, first when: the
    New view marks it "seen" on a later day (papers/shown.py)."""

    class Via(models.TextChoices):
        NEW = "new", "New view"
        DIGEST = "digest", "Digest"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="shown_papers"
    )
    paper = models.ForeignKey(Paper, on_delete=models.CASCADE, related_name="+")
    first_shown = models.DateTimeField(default=timezone.now)
    via = models.CharField(max_length=8, choices=Via.choices, default=Via.NEW)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "paper"], name="one_shown_per_member")
        ]

    def __str__(self) -> str:
        return f"{self.paper_id} shown to {self.user} ({self.via})"


class ContentVersion(models.Model):
    """How recently each scope of what the public pages show changed (papers/content_scopes.py
    names the scopes: a paper's page, a day's listings, trending, ...). Database triggers
    (migration 0010) keep it, so no write path, bulk import included, can forget to: every
    change to papers, their authors, listings, upvotes, comments and author claims bumps the
    "*" row and gives each scope it touched that same value, at commit, in commit order.
    Cached anonymous pages are checked against it (front/page_cache.py)."""

    scope = models.CharField(max_length=64, unique=True)
    value = models.BigIntegerField(default=0, db_index=True)

    def __str__(self) -> str:
        return f"{self.scope} at {self.value}"

    @classmethod
    def current(cls) -> int:
        """The "*" value: grows with every change."""
        return cls.objects.filter(scope="*").values_list("value", flat=True).first() or 0


class ContentChange(models.Model):
    """On PostgreSQL, the scopes a transaction changed, noted by its id until its commit turns
    them into ContentVersion values (and deletes them): writers never wait on each other."""

    txid = models.BigIntegerField()
    scope = models.CharField(max_length=64)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["txid", "scope"], name="one_change_per_scope_and_transaction"
            )
        ]

    def __str__(self) -> str:
        return f"{self.scope} changed by transaction {self.txid}"
