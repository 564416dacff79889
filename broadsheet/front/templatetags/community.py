"""Template filters for comments and authors."""

from django import template

from broadsheet.front import markdown
from broadsheet.papers.authors import author_slug

register = template.Library()


@register.filter
def comment_markdown(text: str):
    return markdown.render(text)


@register.filter
def author_url_slug(author) -> str:
    return author_slug(author)


@register.filter
def author_url(author) -> str:
    return f"/authors/{author_slug(author)}"
