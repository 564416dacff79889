"""Subscriptions to the email digest, saved searches, and one DigestRun per digest sent.

A Subscription is an email address (a member's or anyone's) that confirmed it wants the
digest (double opt-in: `confirmed_at`). A DigestRun is unique per (subscription, period):
whatever runs the sender, twice at once or again after a crash, a period's digest is one row,
claimed with a conditional UPDATE before it is sent and marked sent after the SMTP server
accepted it.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone

from broadsheet.lib.addresses import validate_address

ALL_WEEKDAYS = "0123456"  # Monday is 0, as datetime.weekday() counts
WORKDAYS = "01234"


def new_key() -> str:
    return secrets.token_urlsafe(24)


class Subscription(models.Model):
    class Frequency(models.TextChoices):
        DAILY = "daily", "Daily"
        WEEKLY = "weekly", "Weekly"

    email = models.EmailField(max_length=254, unique=True, validators=[validate_address])
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="digest_subscription",
    )
    frequency = models.CharField(max_length=8, choices=Frequency.choices, default="daily")
    # Days a daily digest goes out, as digits 0 (Monday) .. 6 (Sunday).
    weekdays = models.CharField(max_length=7, default=WORKDAYS)
    top_n = models.PositiveSmallIntegerField(
        default=10, help_text="How many trending papers (0: none)"
    )
    include_saved_searches = models.BooleanField(default=True)
    include_picks = models.BooleanField(default=True)
    # A reader's filter (broadsheet/papers/filters.py, PaperFilter.to_string()) applied to
    # every part of the digest; empty: none.
    paper_filter = models.CharField(max_length=2000, blank=True, default="")
    active = models.BooleanField(
        default=True, help_text="False once unsubscribed (kept so tokens say so)"
    )
    confirmed_at = models.DateTimeField(null=True, blank=True)
    # Confirmation emails are sent by the worker, never by the web request that asked.
    confirmation_due = models.BooleanField(default=False, db_index=True)
    confirmation_sent_at = models.DateTimeField(null=True, blank=True)
    # The public form, given a confirmed address, changes nothing and has the worker mail the
    # address its manage link instead (at most once per BROADSHEET_MAIL_COOLDOWN_MINUTES).
    manage_link_due = models.BooleanField(default=False, db_index=True)
    manage_link_sent_at = models.DateTimeField(null=True, blank=True)
    # Rotated on unsubscribe and resubscribe: old links stop working.
    key = models.CharField(max_length=40, default=new_key)
    hard_bounces = models.PositiveSmallIntegerField(default=0)
    disabled_reason = models.CharField(max_length=300, blank=True)
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["active", "confirmed_at"])]

    def __str__(self) -> str:
        return self.email

    @property
    def receiving(self) -> bool:
        return self.active and self.confirmed_at is not None and not self.disabled_reason


class SavedSearch(models.Model):
    subscription = models.ForeignKey(
        Subscription, on_delete=models.CASCADE, related_name="saved_searches"
    )
    query = models.CharField(max_length=250)
    category = models.CharField(max_length=32, blank=True)
    author = models.CharField(max_length=200, blank=True)
    # The private part of the saved search's RSS/Atom URLs; a new one revokes the old.
    feed_token = models.CharField(max_length=40, unique=True, default=new_key)
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["subscription", "query", "category", "author"], name="one_saved_search"
            )
        ]

    def __str__(self) -> str:
        return self.query


class DigestRun(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        EMPTY = "empty", "Nothing to send"

    subscription = models.ForeignKey(Subscription, on_delete=models.CASCADE, related_name="runs")
    period = models.CharField(max_length=16, help_text="2026-11-30 (daily) or 2026-W49 (weekly)")
    status = models.CharField(max_length=8, choices=Status.choices, default="pending")
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    claimed_at = models.DateTimeField(null=True, blank=True)
    claimed_by = models.CharField(max_length=64, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["subscription", "period"], name="one_digest_per_period")
        ]
        indexes = [models.Index(fields=["status", "next_attempt_at"])]

    def __str__(self) -> str:
        return f"{self.subscription} {self.period} ({self.status})"
