"""Members' avatars, drawn here from their names: initials on a colour taken from a hash of the
username. Nothing is fetched from an outside service, so a page never tells one who reads it."""

from __future__ import annotations

import hashlib
import re

from django.utils.html import format_html
from django.utils.safestring import SafeString

_WORD = re.compile(r"[^\W_]+")


def initials(user) -> str:
    """Up to two letters: of the first and last name when set, else of the username's parts."""
    full = " ".join(filter(None, [user.first_name, user.last_name])).strip()
    words = _WORD.findall(full) or _WORD.findall(user.username) or ["?"]
    letters = words[0][0] + (words[-1][0] if len(words) > 1 else "")
    return letters.upper()


def hue(username: str) -> int:
    """A hue in degrees that stays the same for a username and differs between most."""
    return int.from_bytes(hashlib.sha256(username.encode()).digest()[:2], "big") % 360


def avatar_svg(user, size: int = 20) -> SafeString:
    """An inline SVG circle; white initials on a dark enough colour to read in both themes."""
    text = initials(user)
    return format_html(
        '<svg class="avatar" width="{size}" height="{size}" viewBox="0 0 40 40" aria-hidden="true"'
        ' focusable="false"><circle cx="20" cy="20" r="20" fill="hsl({hue} 45% 33%)"/>'
        '<text x="20" y="20" dy="0.35em" text-anchor="middle" font-size="{font}"'
        ' font-family="system-ui, sans-serif" font-weight="600" fill="#fff">{text}</text></svg>',
        size=size,
        hue=hue(user.username),
        font=18 if len(text) < 2 else 16,
        text=text,
    )
