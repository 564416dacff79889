from __future__ import annotations

from django.db import connections, models, router
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
        """Spend one of `capacity` actions per `period` seconds from bucket `key`; False (and
        the bucket unchanged) when it holds less than one action's worth.

        One statement, on both databases: an insert of a fresh bucket, or else an update of
        the existing one only if the refilled bucket holds enough, returning a row only when
        the action is allowed. Nothing is read first: no transaction around a read, and
        concurrent requests for one key queue on the row (PostgreSQL) or the write lock
        (SQLite) for the time of this one statement.
        """
        connection = connections[router.db_for_write(cls)]
        table = connection.ops.quote_name(cls._meta.db_table)
        key_col = connection.ops.quote_name("key")
        if connection.vendor == "postgresql":
            elapsed = f"EXTRACT(EPOCH FROM (EXCLUDED.updated - {table}.updated))"
            refilled = f"LEAST(1.0, {table}.tokens + GREATEST({elapsed}, 0) / %s)"
        else:
            elapsed = f"(julianday(excluded.updated) - julianday({table}.updated)) * 86400.0"
            refilled = f"MIN(1.0, {table}.tokens + MAX({elapsed}, 0) / %s)"
        step = 1.0 / capacity
        now = connection.ops.adapt_datetimefield_value(timezone.now())
        sql = (
            f"INSERT INTO {table} ({key_col}, tokens, updated) VALUES (%s, %s, %s) "
            f"ON CONFLICT ({key_col}) DO UPDATE "
            f"SET tokens = {refilled} - %s, updated = excluded.updated "
            f"WHERE {refilled} - %s >= %s RETURNING tokens"
        )
        params = [key, 1.0 - step, now, float(period), step, float(period), step, -1e-9]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchone() is not None


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
