"""GitHub stars of the repositories papers link to, refreshed by the worker.

`GET {GITHUB_API_URL}/repos/{owner}/{name}` gives `stargazers_count`. Politely: at most
GITHUB_STARS_PER_RUN repositories a run (never-asked ones first, then the longest unchecked),
each again only after REFRESH_AFTER; conditional requests with the last ETag (a 304 does
not count against the rate limit); one request a second; and when GitHub says the limit is
reached (403 or 429 with X-RateLimit-Remaining: 0 or Retry-After) the run stops and no
request is made before the time it names. BROADSHEET_GITHUB_TOKEN raises the limit from 60
to 5,000 requests an hour.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import time
import urllib.parse
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone

from broadsheet.ingest.http import FetchError, PoliteClient, _retry_after
from broadsheet.ingest.models import GitHubRepo
from broadsheet.papers.models import Paper

log = logging.getLogger("broadsheet.ingest")

REFRESH_AFTER = dt.timedelta(days=1)
GONE = {404, 410, 451}  # no such repository (any more), or blocked: no stars to show
_PART = re.compile(r"^[A-Za-z0-9._-]{1,100}$")
# Until when GitHub asked us to wait (a monotonic clock time), in this worker process.
_paused_until = 0.0


def repo_name(url: str) -> str | None:
    """ "owner/name" (lower case) of a github.com repository URL, else None."""
    parts = urllib.parse.urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or parts.hostname not in (
        "github.com",
        "www.github.com",
    ):
        return None
    segments = [s for s in parts.path.split("/") if s]
    if len(segments) < 2:
        return None
    owner, name = segments[0], segments[1].removesuffix(".git")
    if not (_PART.match(owner) and _PART.match(name)) or name in (".", ".."):
        return None
    return f"{owner}/{name}".lower()


def _wait_seconds(status: int | None, headers: Mapping[str, str]) -> float | None:
    """Seconds GitHub asks us to wait, when a refusal is its rate limit; else None."""
    if status not in (403, 429):
        return None
    after = _retry_after(headers.get("Retry-After"))
    if after is not None:
        return after
    if headers.get("X-RateLimit-Remaining") == "0":
        reset = headers.get("X-RateLimit-Reset", "")
        return max(0.0, float(reset) - time.time()) if reset.isdigit() else 3600.0
    return 60.0 if status == 429 else None


@dataclass
class StarCounts:
    updated: int = 0
    unchanged: int = 0
    failed: int = 0
    rate_limited: bool = False

    def __str__(self) -> str:
        text = f"{self.updated} repositories updated, {self.unchanged} unchanged, "
        text += f"{self.failed} failed"
        return text + (" (stopped: GitHub's rate limit)" if self.rate_limited else "")


def _linked_repos() -> dict[str, list[str]]:
    """Repository name -> the github_repo URLs of papers that link to it."""
    urls: dict[str, list[str]] = defaultdict(list)
    linked = Paper.objects.exclude(github_repo="").values_list("github_repo", flat=True)
    for url in linked.distinct():
        name = repo_name(url)
        if name:
            urls[name].append(url)
    return urls


def due(limit: int, linked: dict[str, list[str]]) -> list[GitHubRepo]:
    """Repositories papers link to that were never asked or not for REFRESH_AFTER: the
    never-asked first, then the longest unchecked."""
    known = {r.name: r for r in GitHubRepo.objects.all()}
    missing = [GitHubRepo(name=n) for n in linked if n not in known]
    if missing:
        GitHubRepo.objects.bulk_create(missing, ignore_conflicts=True)
        known = {r.name: r for r in GitHubRepo.objects.all()}
    stale = timezone.now() - REFRESH_AFTER
    todo = [
        r
        for name, r in known.items()
        if name in linked and (r.checked_at is None or r.checked_at < stale)
    ]
    epoch = dt.datetime.min.replace(tzinfo=dt.UTC)
    todo.sort(key=lambda r: (r.checked_at or epoch, r.pk))
    return todo[:limit]


def client() -> PoliteClient:
    # No retries: a refusal is GitHub's answer for this run (the next run asks again).
    return PoliteClient(min_interval=1.0, retries=0, timeout=20.0)


def refresh_stars(limit: int | None = None, http: PoliteClient | None = None) -> StarCounts:
    """Ask GitHub for the stars of up to `limit` (GITHUB_STARS_PER_RUN) repositories due for
    a refresh, and store them on their papers."""
    global _paused_until
    limit = settings.GITHUB_STARS_PER_RUN if limit is None else limit
    counts = StarCounts()
    if limit <= 0:
        return counts
    if time.monotonic() < _paused_until:
        counts.rate_limited = True
        return counts
    http = http or client()
    linked = _linked_repos()
    headers = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28"}
    if settings.GITHUB_TOKEN:
        headers["Authorization"] = f"Bearer {settings.GITHUB_TOKEN}"
    for repo in due(limit, linked):
        asked = dict(headers)
        if repo.etag and repo.stars is not None:
            asked["If-None-Match"] = repo.etag
        url = f"{settings.GITHUB_API_URL}/repos/{repo.name}"
        try:
            status, got, body = http.fetch(url, headers=asked)
        except FetchError as e:
            wait = _wait_seconds(e.status, e.headers)
            if wait is not None:
                _paused_until = time.monotonic() + wait
                log.warning("GitHub's rate limit: no requests for %.0f s", wait)
                counts.rate_limited = True
                break
            counts.failed += 1
            if e.status in GONE:
                _store(repo, None, "", linked, error=f"HTTP {e.status}")
            else:
                log.warning("GitHub stars of %s: %s", repo.name, e)
            continue
        if status == 304:
            _store(repo, repo.stars, repo.etag, linked)
            counts.unchanged += 1
        else:
            try:
                stars = json.loads(body).get("stargazers_count")
            except (json.JSONDecodeError, UnicodeDecodeError, AttributeError):
                stars = None
            if type(stars) is not int or stars < 0:
                counts.failed += 1
                log.warning("GitHub stars of %s: no stargazers_count in the answer", repo.name)
                continue
            _store(repo, stars, got.get("ETag", "")[:200], linked)
            counts.updated += 1
        if got.get("X-RateLimit-Remaining") == "0":
            _paused_until = time.monotonic() + (_wait_seconds(403, got) or 0.0)
            counts.rate_limited = True
            break
    return counts


def _store(
    repo: GitHubRepo, stars: int | None, etag: str, linked: dict[str, list[str]], error=""
) -> None:
    repo.stars, repo.etag, repo.error = stars, etag, error
    repo.checked_at = timezone.now()
    repo.save(update_fields=["stars", "etag", "error", "checked_at"])
    urls = linked.get(repo.name, [])
    for start in range(0, len(urls), 500):
        Paper.objects.filter(github_repo__in=urls[start : start + 500]).exclude(
            github_stars=stars
        ).update(github_stars=stars)
