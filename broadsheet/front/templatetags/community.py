"""Template filters for comments, authors, members' avatars and paper cards."""

from django import template

from broadsheet.front import avatars, card_cache, cards, linkify, markdown
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


@register.simple_tag(takes_context=True)
def feed_card(context, listing, rank: int):
    """front/_card.html for `listing` at `rank`; anonymous readers' kept (card_cache.py)."""

    def render() -> str:
        template = context.template.engine.get_template("front/_card.html")
        with context.push(listing=listing, rank=rank, is_voted=listing.is_voted):
            return template.render(context)

    return card_cache.card(context["request"], listing, rank, render)
