"""Channel URLs hold secrets (webhook tokens, passwords): they are stored encrypted with
Fernet and shown again only as `mask(url)`.

The key is BROADSHEET_CHANNEL_KEY (a Fernet key; several, comma-separated, to rotate: the first
encrypts, any decrypts). Unset, it is derived from SECRET_KEY with HKDF-SHA256, so a site works
without one more secret; changing SECRET_KEY then makes the stored URLs unreadable (`reveal`
raises Unreadable and the channel is switched off with that reason).
"""

from __future__ import annotations

import base64
import functools
from urllib.parse import urlsplit

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

HKDF_INFO = b"broadsheet channel urls"


class Unreadable(Exception):
    """A stored URL the current key cannot decrypt (the key changed)."""


def derived_key(secret: str) -> bytes:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=HKDF_INFO)
    return base64.urlsafe_b64encode(hkdf.derive(secret.encode()))


@functools.cache
def _fernet(configured: str, secret: str) -> MultiFernet:
    keys = [k.strip() for k in configured.split(",") if k.strip()]
    if not keys:
        keys = [derived_key(secret).decode()]
    return MultiFernet([Fernet(k.encode()) for k in keys])


def fernet() -> MultiFernet:
    return _fernet(settings.CHANNEL_KEY, settings.SECRET_KEY)


def seal(url: str) -> str:
    return fernet().encrypt(url.encode()).decode()


def reveal(token: str) -> str:
    try:
        return fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        raise Unreadable(
            "its URL cannot be decrypted (the site's channel key changed): enter it again"
        ) from None


def mask(url: str) -> str:
    """Scheme and host, nothing else: `json://hooks.example.org/…`. A "host" that is not a
    host name (Slack, Discord and Telegram put tokens there) is masked too."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return "…"
    scheme = parts.scheme.lower()[:16] or "?"
    hostport = parts.netloc.rsplit("@", 1)[-1]
    host, _, port = hostport.partition(":")
    looks_like_host = host == "localhost" or (
        "." in host and all(c.isalnum() or c in ".-[]" for c in host)
    )
    if not looks_like_host:
        return f"{scheme}://{host[:1]}…" if host else f"{scheme}://…"
    shown = f"{host}:{port}" if port.isdigit() else host
    return f"{scheme}://{shown}/…"
