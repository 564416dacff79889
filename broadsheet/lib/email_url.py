"""Turn BROADSHEET_EMAIL_URL (smtp://user:pass@host:port?tls=true) into Django settings."""

from __future__ import annotations

from urllib.parse import parse_qs, unquote, urlsplit

from broadsheet.lib.env import SettingError


def parse_email_url(url: str) -> dict:
    parts = urlsplit(url)
    if parts.scheme == "console":
        return {"EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend"}
    if parts.scheme not in ("smtp", "smtps"):
        raise SettingError(
            f"BROADSHEET_EMAIL_URL: scheme must be smtp, smtps or console, not {parts.scheme!r}"
        )
    if not parts.hostname:
        raise SettingError("BROADSHEET_EMAIL_URL: no host")
    query = {k: v[-1].lower() for k, v in parse_qs(parts.query).items()}
    try:
        port = parts.port
    except ValueError:
        raise SettingError("BROADSHEET_EMAIL_URL: bad port") from None
    ssl = parts.scheme == "smtps" or query.get("ssl") == "true"
    return {
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": parts.hostname,
        "EMAIL_PORT": port or (465 if ssl else 25),
        "EMAIL_HOST_USER": unquote(parts.username or ""),
        "EMAIL_HOST_PASSWORD": unquote(parts.password or ""),
        "EMAIL_USE_TLS": query.get("tls") == "true",
        "EMAIL_USE_SSL": ssl,
        "EMAIL_TIMEOUT": 20,
    }
