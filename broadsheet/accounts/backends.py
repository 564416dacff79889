"""The authentication backends' first steps: django-axes' check of failed-login limits, and
the switch that turns logging in by password off."""

from __future__ import annotations

from axes.backends import AxesStandaloneBackend
from django.conf import settings
from django.core.exceptions import PermissionDenied


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


class PasswordLoginSwitch:
    """With BROADSHEET_PASSWORD_LOGIN=false, refuses every login by password (the site's and
    the admin's) before any backend checks one: single sign-on is then the only way in.

    Raising PermissionDenied stops Django's authenticate() at this backend. No get_user: the
    session of a member logged in by a later backend names that backend."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if password is not None and not settings.PASSWORD_LOGIN:
            raise PermissionDenied("Logging in with a password is turned off on this site.")
        return None
