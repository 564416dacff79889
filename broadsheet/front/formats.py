"""A paper page as Markdown (/papers/<id>.md), for programs, LLM tools and terminals.

Hugging Face serves the same URL shape (huggingface_hub's `read_paper` fetches it). Text from
sources is escaped so it cannot add structure (headings, links, raw HTML) to the document;
LaTeX between $...$ is left as written, the way paper sites show it.
"""

from __future__ import annotations

import re

from django.http import HttpRequest, HttpResponse

from broadsheet.front.view_helpers import get_paper
from broadsheet.papers.models import Paper

_MATH = re.compile(r"(\$[^$]*\$)")
_SPECIAL = re.compile(r"([\\`*_{}\[\]<>#|!~])")
MAX_COMMENTS = 100


def escape(text: str) -> str:
    """Backslash-escape Markdown syntax outside $...$ math."""
    parts = _MATH.split(" ".join(text.split()))
    for i in range(0, len(parts), 2):  # even parts are outside math
        parts[i] = _SPECIAL.sub(r"\\\1", parts[i])
    out = "".join(parts)
    # A line that starts with a number and a dot or with +/- would become a list item.
    return re.sub(r"^(\d+)\.", r"\1\\.", re.sub(r"^([+\-])", r"\\\1", out))


def _link(label: str, url: str) -> str:
    # <...> autolink-style destination: spaces and parentheses in URLs cannot break it.
    return f"[{label}](<{url.replace('>', '%3E').replace('<', '%3C')}>)"


def paper_markdown(paper: Paper, page_url: str) -> str:
    names = [a.author.name for a in paper.authorships.all()]
    lines = [f"# {escape(paper.title)}", ""]
    facts = []
    if names:
        facts.append(f"**Authors:** {escape(', '.join(names))}")
    elif paper.author_count:
        facts.append(f"**Authors:** {paper.author_count} authors")
    if paper.published_at:
        facts.append(f"**Published:** {paper.published_at:%Y-%m-%d}")
    if paper.arxiv_id:
        facts.append(f"**arXiv:** {escape(paper.arxiv_id)}")
    if paper.doi:
        facts.append(f"**DOI:** {escape(paper.doi)}")
    if paper.categories and isinstance(paper.categories, list):
        facts.append(f"**Categories:** {escape(', '.join(map(str, paper.categories)))}")
    if paper.journal_ref:
        facts.append(f"**Journal:** {escape(paper.journal_ref)}")
    facts.append(f"**Upvotes:** {paper.votes}")
    listing = getattr(paper, "listing", None)
    if listing is not None and not listing.hidden:
        facts.append(f"**Listed:** {listing.day:%Y-%m-%d}")
    lines += [f"- {fact}" for fact in facts]
    links = [_link("Page", page_url)]
    for label, url in (
        ("Abstract", paper.abs_url),
        ("PDF", paper.pdf_url),
        ("Code", paper.github_repo),
        ("Project page", paper.project_url),
    ):
        if url:
            links.append(_link(label, url))
    lines += [f"- **Links:** {' · '.join(links)}", ""]
    if paper.abstract:
        lines += ["## Abstract", "", escape(paper.abstract), ""]
    comments = list(paper.comments.filter(hidden=False).select_related("user")[:MAX_COMMENTS])
    if comments:
        lines += [f"## Comments ({len(comments)})", ""]
        for c in comments:
            lines += [f"**{escape(c.user.username)}**, {c.created:%Y-%m-%d}:", ""]
            lines += [escape(para) for para in c.body.split("\n") if para.strip()]
            lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def paper_md(request: HttpRequest, ref: str) -> HttpResponse:
    paper = get_paper(ref)
    text = paper_markdown(paper, request.build_absolute_uri(paper.get_absolute_url()))
    response = HttpResponse(text, content_type="text/markdown; charset=utf-8")
    response["Content-Disposition"] = f'inline; filename="{paper.slug}.md"'
    return response
