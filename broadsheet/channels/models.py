"""Channels: destinations in the places a team talks (Slack, Discord, Matrix, Teams, Telegram,
email, webhooks: any Apprise URL), and one ChannelRun per message.

A Channel belongs to a member, or to the whole site (`owner` empty; moderators manage those).
Its URL is stored encrypted (vault.py) with a masked hint to show. A ChannelRun is unique per
(channel, period): its papers are chosen once, when the run is made, and the run is claimed
with a conditional UPDATE before it is sent and marked sent after the destination accepted it,
as digests are (broadsheet/digests/send.py); so each paper reaches a channel at most once per
period, and a later period leaves out the papers earlier ones sent.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

from broadsheet.digests.models import SavedSearch

TOP_N_MAX = 25


class Channel(models.Model):
    class Content(models.TextChoices):
        TOP = "top", "The day's top papers of the community feed"
        SEARCH = "search", "New papers for a saved search"
        NEW = "new", "The top of your New view (new arXiv papers ranked for you)"

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="channels",
        help_text="Empty: a site-wide channel, managed by moderators",
    )
    name = models.CharField(max_length=80)
    url_sealed = models.TextField(help_text="The Apprise URL, encrypted (see vault.py)")
    url_hint = models.CharField(max_length=120, help_text="Scheme and host, masked")
    content = models.CharField(max_length=8, choices=Content.choices, default=Content.TOP)
    saved_search = models.ForeignKey(
        SavedSearch, null=True, blank=True, on_delete=models.CASCADE, related_name="channels"
    )
    # A reader's filter (broadsheet/papers/filters.py, PaperFilter.to_string()) applied to
    # whatever the channel sends; empty: none.
    paper_filter = models.CharField(max_length=2000, blank=True, default="")
    top_n = models.PositiveSmallIntegerField(
        default=5, validators=[MinValueValidator(1), MaxValueValidator(TOP_N_MAX)]
    )
    send_at = models.TimeField(default=dt.time(8, 0), help_text="In the site's time zone")
    enabled = models.BooleanField(default=True, help_text="Untick to pause the channel")
    # Set when the sender switches the channel off (permanent failures, unreadable URL).
    disabled_reason = models.CharField(max_length=300, blank=True)
    failures = models.PositiveSmallIntegerField(default=0, help_text="Permanent failures in a row")
    last_sent_at = models.DateTimeField(null=True, blank=True)
    # A test message the web request asked for; the worker sends it (the web never does).
    test_due = models.BooleanField(default=False, db_index=True)
    test_result = models.CharField(max_length=300, blank=True)
    test_done_at = models.DateTimeField(null=True, blank=True)
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created", "id"]
        indexes = [models.Index(fields=["enabled", "send_at"])]

    def __str__(self) -> str:
        return f"{self.name} ({self.url_hint})"

    @property
    def active(self) -> bool:
        return self.enabled and not self.disabled_reason

    @property
    def site_wide(self) -> bool:
        return self.owner_id is None


class ChannelRun(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        EMPTY = "empty", "Nothing to send"

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="runs")
    period = models.CharField(max_length=16, help_text="The day, 2026-12-05")
    paper_ids = models.JSONField(default=list, help_text="The papers of this message, in order")
    cutoff = models.DateTimeField(
        default=timezone.now, help_text="When the papers were chosen: the next run looks after"
    )
    status = models.CharField(max_length=8, choices=Status.choices, default="pending")
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    claimed_at = models.DateTimeField(null=True, blank=True)
    claimed_by = models.CharField(max_length=64, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["channel", "period"], name="one_channel_run_per_period")
        ]
        indexes = [models.Index(fields=["status", "next_attempt_at"])]

    def __str__(self) -> str:
        return f"{self.channel_id} {self.period} ({self.status})"
