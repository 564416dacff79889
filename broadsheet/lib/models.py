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
