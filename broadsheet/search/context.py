"""For the paper page: `related_papers(paper)` gives the context for
templates/search/_related.html."""

from __future__ import annotations

import logging

from broadsheet.papers.models import Paper
from broadsheet.search import related

log = logging.getLogger("broadsheet.search")


def related_papers(paper: Paper, k: int = 5) -> dict:
    try:
        papers = related(paper, k=k)
    except Exception:  # related papers are a garnish: never break the paper page
        log.exception("related papers failed for paper %s", paper.pk)
        papers = []
    return {"related_papers": papers}
