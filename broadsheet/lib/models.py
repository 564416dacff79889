from __future__ import annotations

from django.db import models, transaction
from django.utils import timezone


class TokenBucket(models.Model):
    """A rate limit kept in the database (no Redis): `capacity` actions per `period` seconds.

    `tokens` is the fraction of the bucket left; it refills linearly over `period`.
    """

    key = models.CharField(max_length=200, unique=True)
    tokens = models.FloatField(default=1.0)
    updated = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.key

    @classmethod
    def authorize(cls, key: str, capacity: int, period: float) -> bool:
        now = timezone.now()
        with transaction.atomic():
            bucket, created = cls.objects.select_for_update().get_or_create(key=key)
            if not created:
                elapsed = (now - bucket.updated).total_seconds()
                bucket.tokens = min(1.0, bucket.tokens + max(elapsed, 0) / period)
            bucket.tokens -= 1.0 / capacity
            if bucket.tokens < -1e-9:
                return False
            bucket.updated = now
            bucket.save(update_fields=["tokens", "updated"])
            return True


class JobRun(models.Model):
    """The state of one named job (e.g. "ingest-arxiv"), so a job already running is not
    started again by a second worker or a cron line, and operators see the last run."""

    name = models.CharField(max_length=100, unique=True)
    running_since = models.DateTimeField(null=True, blank=True)
    last_started = models.DateTimeField(null=True, blank=True)
    last_finished = models.DateTimeField(null=True, blank=True)
    last_result = models.TextField(blank=True)
    last_ok = models.BooleanField(null=True)

    def __str__(self) -> str:
        return self.name


class Heartbeat(models.Model):
    """A long-running process saying it is alive (e.g. "worker@host:pid"), written every
    BEAT_SECONDS, so /readyz and the status page can tell a stopped worker from a quiet one."""

    name = models.CharField(max_length=200, unique=True)
    beat_at = models.DateTimeField()
    started_at = models.DateTimeField()

    def __str__(self) -> str:
        return self.name
