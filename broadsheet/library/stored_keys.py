"""Encryption of stored Zotero API keys: Fernet (cryptography; AES-128-CBC with HMAC-SHA256)
with a key derived from BROADSHEET_SECRET_KEY by HKDF-SHA256, so nothing else has to be kept.
A changed secret key makes stored keys unreadable: decrypt() then returns None and the member
is asked for the key again."""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

# Names the use, so that this key differs from any other derived from the same secret.
PURPOSE = b"broadsheet.library: Zotero API keys"


def _fernet() -> Fernet:
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=PURPOSE).derive(
        settings.SECRET_KEY.encode()
    )
    return Fernet(base64.urlsafe_b64encode(derived))


def encrypt(text: str) -> str:
    return _fernet().encrypt(text.encode()).decode()


def decrypt(token: str) -> str | None:
    try:
        return _fernet().decrypt(token.encode()).decode()
    except (InvalidToken, ValueError):
        return None
