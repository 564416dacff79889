"""What a paper card shows beyond the paper's own fields: its outside links and its picture."""

from __future__ import annotations

from dataclasses import dataclass

ARXIV = "https://arxiv.org"


@dataclass(frozen=True)
class Link:
    label: str
    url: str
    kind: str  # arxiv, pdf, code, project: the CSS class and the test hook
    stars: int | None = None


def paper_links(paper) -> list[Link]:
    """arXiv, PDF, code (with its GitHub stars) and project page, in that order, when known.

    An arXiv paper whose record lacks the URLs still gets them from its id.
    """
    links: list[Link] = []
    arxiv_id = paper.arxiv_id
    if abs_url := paper.abs_url or (arxiv_id and f"{ARXIV}/abs/{arxiv_id}"):
        links.append(Link("arXiv", abs_url, "arxiv"))
    if pdf_url := paper.pdf_url or (arxiv_id and f"{ARXIV}/pdf/{arxiv_id}"):
        links.append(Link("PDF", pdf_url, "pdf"))
    if paper.github_repo:
        links.append(Link("Code", paper.github_repo, "code", getattr(paper, "github_stars", None)))
    if paper.project_url:
        links.append(Link("Project", paper.project_url, "project"))
    return links


def thumbnail_src(paper) -> str:
    """The `src` of the paper's first-page picture on this site; "" if none."""
    return paper.thumbnail_src
