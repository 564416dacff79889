"""Template filters for comments, authors, members' avatars and paper cards."""

from django import template

from broadsheet.front import avatars, cards, linkify, markdown
from broadsheet.papers.authors import author_slug

register = template.Library()


@register.filter
def comment_markdown(text: str):
    return markdown.render(text)


@register.filter
def linkify_urls(text: str):
    """Plain text (an abstract) with its bare http(s) URLs made into links."""
    return linkify.linkify(text)


@register.filter
def author_url_slug(author) -> str:
    return author_slug(author)


@register.filter
def author_url(author) -> str:
    return f"/authors/{author_slug(author)}"


@register.simple_tag
def avatar(user, size: int = 20):
    return avatars.avatar_svg(user, size)


@register.filter
def paper_links(paper) -> list:
    return cards.paper_links(paper)


@register.filter
def thumbnail_src(paper) -> str:
    return cards.thumbnail_src(paper)
