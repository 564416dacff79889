"""The authentication backends' first step: django-axes' check of failed-login limits."""

from __future__ import annotations

from axes.backends import AxesStandaloneBackend


class LoginLimitBackend(AxesStandaloneBackend):
    """Refuses a login from a locked-out account or client before any password is hashed.

    Every login form (ours, the admin's) authenticates with its request, which axes counts
    by. A call without one (Django's test client `login()`, a shell) comes from no client:
    there is nothing to count it against, and axes would raise instead of refusing, so it is
    let through to the password check like any other.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username, password, **kwargs)
