"""Comments in a safe subset of Markdown: rendered by markdown-it, then sanitised by nh3.

Two independent layers, so one mistake is not enough for markup to get through: markdown-it
runs with raw HTML turned off (a `<script>` typed in a comment becomes text) and refuses
`javascript:`, `vbscript:`, `file:` and `data:` links; nh3 (the Ammonia sanitiser) then keeps
only the tags and attributes below and only http(s) and mailto links, whatever the renderer
produced. Images are not in the subset: a comment must not make readers' browsers fetch
third-party URLs, and headings are not either: a comment is not a document. Bare URLs become
links (linkify-it finds them), through the same two layers.
"""

from __future__ import annotations

import nh3
from django.utils.safestring import SafeString, mark_safe
from markdown_it import MarkdownIt

TAGS = {
    "p", "br", "em", "strong", "code", "pre", "blockquote", "ul", "ol", "li", "a", "hr", "s",
}  # fmt: skip
ATTRIBUTES = {"a": {"href", "title"}, "ol": {"start"}}
URL_SCHEMES = {"http", "https", "mailto"}

_md = (
    MarkdownIt("commonmark", {"html": False, "breaks": True, "linkify": True, "typographer": False})
    .enable(["strikethrough", "linkify"])
    .disable(["image", "heading", "lheading"])
)


def render(text: str) -> SafeString:
    return sanitise(_md.render(text))


def sanitise(html: str) -> SafeString:
    clean = nh3.clean(
        html,
        tags=TAGS,
        attributes=ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="nofollow ugc noopener noreferrer",
        strip_comments=True,
    )
    return mark_safe(clean)  # noqa: S308 - sanitised by nh3 just above
