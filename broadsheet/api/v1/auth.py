"""django-ninja auth classes over callers.identify (tokens, sessions, rate limits).

Reading needs no credentials: `Reader` only picks the rate limit that applies. Writing needs a
write-scope token, or a logged-in session whose request carries the CSRF token (a session is
ambient authority a hostile page could borrow; a bearer token is not).
"""

from __future__ import annotations

from django.http import HttpRequest
from ninja.security import HttpBearer
from ninja.utils import check_csrf

from broadsheet.api.callers import Caller, Forbidden, Unauthorized, identify


class _Bearer(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str):  # pragma: no cover - unused
        raise NotImplementedError


class Reader(_Bearer):
    """Anyone; a token (or session) only changes whose allowance is spent."""

    def __call__(self, request: HttpRequest) -> Caller:
        return identify(request)


def _member(request: HttpRequest) -> Caller:
    caller = identify(request)
    if caller.user is None:
        raise Unauthorized("This needs an API token (Authorization: Bearer ...) or a login.")
    return caller


class Member(_Bearer):
    """A member, by token of either scope or by session."""

    def __call__(self, request: HttpRequest) -> Caller:
        return _member(request)


class Writer(_Bearer):
    """A member with a write-scope token, or a session plus CSRF token."""

    def __call__(self, request: HttpRequest) -> Caller:
        caller = _member(request)
        if caller.token is not None and not caller.token.can_write:
            raise Forbidden("This token has read scope; create a write-scope token to change data.")
        if caller.is_session:
            # Django's CSRF check reads request.POST, which consumes a multipart body as a
            # stream; read the body first so the JSON parser can still get it (else a 500).
            request.body  # noqa: B018
        if caller.is_session and check_csrf(request) is not None:
            raise Forbidden("CSRF check failed: send the X-CSRFToken header with a session.")
        return caller


READ = Reader()
MEMBER = Member()
WRITE = Writer()
