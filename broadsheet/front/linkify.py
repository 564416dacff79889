"""Bare http(s) URLs in plain text (abstracts) made into links, safely.

linkify-it (markdown-it's own URL finder) finds the URLs; every piece of text, the URLs
included, is HTML-escaped before it is put in the page, and only http and https URLs become
links, so `javascript:` or `data:` stays text. nh3 then checks the result again, as for
comments (broadsheet.front.markdown).
"""

from __future__ import annotations

import nh3
from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe
from linkify_it import LinkifyIt

LINK_REL = "nofollow noopener"
_SCHEMES = ("http://", "https://")

# Only links that say their scheme: "e.g." or "arXiv.org" in prose stay words.
_finder = LinkifyIt(options={"fuzzy_link": False, "fuzzy_email": False, "fuzzy_ip": False})


def linkify(text: str) -> SafeString:
    parts: list[str] = []
    start = 0
    for match in _finder.match(text) or []:
        if not match.url.lower().startswith(_SCHEMES):
            continue
        parts.append(escape(text[start : match.index]))
        parts.append(format_html('<a href="{}">{}</a>', match.url, match.text))
        start = match.last_index
    parts.append(escape(text[start:]))
    clean = nh3.clean(
        "".join(parts),
        tags={"a"},
        attributes={"a": {"href"}},
        url_schemes={"http", "https"},
        link_rel=LINK_REL,
    )
    return mark_safe(clean)  # noqa: S308 - escaped piece by piece, then sanitised by nh3
