"""A polite HTTP client for sources: one request at a time, spaced, retried with backoff.

arXiv asks for at most one request every 3 seconds over a single connection; 429 and 503
answers (with or without Retry-After) and dropped connections are retried a bounded number
of times. The clock and sleep are injectable so tests check the spacing without waiting.
"""

from __future__ import annotations

import email.utils
import logging
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping

log = logging.getLogger("broadsheet.ingest")

RETRY_STATUSES = {429, 500, 502, 503, 504}
USER_AGENT = "Broadsheet/0.1 (self-hosted daily papers; +https://github.com/broadsheet)"
MAX_BODY = 200 * 1024 * 1024


class FetchError(Exception):
    """A source could not be reached or refused the request for good."""

    def __init__(self, message: str, status: int | None = None, headers=None):
        super().__init__(message)
        self.status = status
        self.headers = headers or {}  # the refusal's headers (rate limits: when to come back)


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():  # "²".isdigit() is True too
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


class PoliteClient:
    def __init__(
        self,
        min_interval: float = 3.0,
        retries: int = 4,
        backoff: float = 5.0,
        max_wait: float = 600.0,
        timeout: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.min_interval = min_interval
        self.retries = retries
        self.backoff = backoff
        self.max_wait = max_wait
        self.timeout = timeout
        self.clock = clock
        self.sleep = sleep
        self._last: float | None = None
        self.requests = 0

    def _wait_turn(self) -> None:
        if self._last is not None:
            wait = self._last + self.min_interval - self.clock()
            if wait > 0:
                self.sleep(wait)
        self._last = self.clock()

    def get(self, url: str, params: dict | None = None) -> bytes:
        return self.fetch(url, params)[2]

    def fetch(
        self, url: str, params: dict | None = None, headers: dict[str, str] | None = None
    ) -> tuple[int, Mapping[str, str], bytes]:
        """(status, headers, body) of a GET with these request headers. A 304 (a conditional
        request's "not modified") is an answer, with an empty body."""
        if params:
            url = f"{url}{'&' if '?' in url else '?'}{urllib.parse.urlencode(params)}"
        last_error = ""
        last_status, last_headers = None, None
        for attempt in range(self.retries + 1):
            self._wait_turn()
            self.requests += 1
            request = urllib.request.Request(
                url, headers={"User-Agent": USER_AGENT, **(headers or {})}
            )
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as response:
                    body = response.read(MAX_BODY + 1)
                    status, got = response.status, response.headers
                if len(body) > MAX_BODY:
                    raise FetchError(f"{url}: response larger than {MAX_BODY} bytes")
                return status, got, body
            except urllib.error.HTTPError as e:
                if e.code == 304:
                    return 304, e.headers, b""
                if e.code not in RETRY_STATUSES:
                    raise FetchError(
                        f"{url}: HTTP {e.code} {e.reason}", status=e.code, headers=e.headers
                    ) from None
                delay = _retry_after(e.headers.get("Retry-After"))
                last_error = f"HTTP {e.code}"
                last_status, last_headers = e.code, e.headers
            except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as e:
                delay = None
                last_error = str(getattr(e, "reason", e))
            if attempt == self.retries:
                break
            delay = min(self.max_wait, delay if delay is not None else self.backoff * 2**attempt)
            log.warning("%s: %s; retrying in %.0f s", url, last_error, delay)
            self.sleep(delay)
        raise FetchError(
            f"{url}: {last_error} after {self.retries + 1} attempts",
            status=last_status,
            headers=last_headers,
        )
