"""Who is calling the API, and how often they may.

Every API request (the Hugging Face-compatible views and /api/v1/) goes through `identify`:
a `Authorization: Bearer bsk_...` token, else the session of a logged-in member, else an
anonymous caller known by IP address (lib.clients.client_ip: the real client behind a trusted
proxy). Each is rate-limited with the database token bucket (no Redis, shared by every web
worker): per token, per member for sessions, per IP otherwise. Requests with a bad token have
a bucket of their own per IP, so guessing tokens spends nobody else's allowance, not even the
guesser's anonymous one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from django.conf import settings
from django.http import HttpRequest

from broadsheet.api.models import ApiToken
from broadsheet.api.tokens import MARK, find_token
from broadsheet.lib.clients import client_ip
from broadsheet.lib.models import TokenBucket

PERIOD = 60.0  # seconds; the limits are "per minute"
DEFAULT_ANONYMOUS_PER_MINUTE = 60
DEFAULT_TOKEN_PER_MINUTE = 300


class ApiError(Exception):
    """An error answered as {"error": message} with `status` (and extra response headers)."""

    status = 400

    def __init__(self, message: str, status: int | None = None, headers: dict | None = None):
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status
        self.headers = headers or {}


class Unauthorized(ApiError):
    status = 401

    def __init__(self, message: str):
        super().__init__(message, headers={"WWW-Authenticate": 'Bearer realm="api"'})


class Forbidden(ApiError):
    status = 403


class RateLimited(ApiError):
    status = 429

    def __init__(self, retry_after: int):
        super().__init__(
            f"Too many requests; try again in {retry_after} seconds.",
            headers={"Retry-After": str(retry_after)},
        )


@dataclass(frozen=True)
class Caller:
    user: object | None  # the member, or None when anonymous
    token: ApiToken | None
    ip: str

    def __bool__(self) -> bool:  # ninja treats a falsy auth result as "not authenticated"
        return True

    @property
    def can_write(self) -> bool:
        if self.token is not None:
            return self.token.can_write
        return self.user is not None  # a session (CSRF is checked separately)

    @property
    def is_session(self) -> bool:
        return self.user is not None and self.token is None


def _bearer(request: HttpRequest) -> str | None:
    value = request.headers.get("Authorization")
    if value is None:
        return None
    scheme, _, token = value.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("Send the token as `Authorization: Bearer <token>`.")
    return token.strip()


def _limit(key: str, per_minute: int) -> None:
    if not TokenBucket.authorize(key, per_minute, PERIOD):
        # A refused request leaves the bucket as it was, below one request's worth; it refills
        # one request's worth in at most PERIOD / capacity seconds.
        raise RateLimited(max(1, math.ceil(PERIOD / per_minute)))


def anonymous_limit() -> int:
    return getattr(settings, "API_RATE_LIMIT_ANONYMOUS", DEFAULT_ANONYMOUS_PER_MINUTE)


def token_limit() -> int:
    return getattr(settings, "API_RATE_LIMIT_TOKEN", DEFAULT_TOKEN_PER_MINUTE)


def identify(request: HttpRequest, *, foreign_tokens: bool = False) -> Caller:
    """The caller of this request, after its rate limit; raises Unauthorized or RateLimited.

    With `foreign_tokens`, a bearer token that is not one of ours is ignored rather than
    refused: huggingface_hub sends the user's saved Hugging Face token to whatever endpoint
    it is pointed at, and the HF-compatible endpoints must still answer it.
    A private site's middleware (api/private.py) identifies API callers first and keeps
    the answer on the request, so the rate limit is spent once.
    """
    known = getattr(request, "broadsheet_caller", None)
    if known is not None:
        return known
    ip = client_ip(request) or "unknown"
    try:
        text = _bearer(request)
    except Unauthorized:
        _limit(f"api:bad-token:{ip}", anonymous_limit())
        raise
    if text is not None and foreign_tokens and not text.startswith(MARK):
        text = None
    if text is not None:
        return token_caller(request, text)
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        _limit(f"api:user:{user.pk}", token_limit())
        return Caller(user=user, token=None, ip=ip)
    _limit(f"api:ip:{ip}", anonymous_limit())
    return Caller(user=None, token=None, ip=ip)


def token_caller(request: HttpRequest, text: str) -> Caller:
    """The member whose API token `text` is, after the token's rate limit; raises Unauthorized
    (unknown or revoked) or RateLimited."""
    ip = client_ip(request) or "unknown"
    token = find_token(text)
    if token is None:
        # Failed attempts spend an allowance of their own for this client, which bounds
        # token guessing without touching what the client (or anyone) may do anonymously.
        _limit(f"api:bad-token:{ip}", anonymous_limit())
        raise Unauthorized("Unknown or revoked API token.")
    _limit(f"api:token:{token.pk}", token_limit())
    return Caller(user=token.user, token=token, ip=ip)
