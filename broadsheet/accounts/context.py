"""Template context for the login and sign-up pages: which ways in this site offers."""

from __future__ import annotations

from django.conf import settings


def sign_in(request) -> dict:
    return {
        "private_site": settings.PRIVATE,
        "password_login": settings.PASSWORD_LOGIN,
        "sso_enabled": bool(settings.OIDC_RP_CLIENT_ID),
        "sso_name": settings.OIDC_PROVIDER_NAME,
    }
