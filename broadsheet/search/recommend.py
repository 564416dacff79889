"""Personal picks: papers most similar to what a member upvoted.

    picks_for(user, *, limit=10, exclude_ids=(), since=None) -> list[Pick]

A minimal implementation of the interface agreed with the collections work (which replaces it
with one that also counts collected and dismissed papers): for each of the member's most recent
upvotes that has a vector, its nearest neighbours; a candidate scores its best cosine similarity
to any of them, and `because` names that upvoted paper. Never a paper the member upvoted, one in
`exclude_ids` or a hidden one; with `since`, only papers listed or published on or after it.
No upvotes (or no vectors yet): no picks.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Q

from broadsheet.papers.models import Paper, Upvote

LIKED = 20  # the most recent upvotes looked at
NEIGHBOURS = 50  # candidates per liked paper, before exclusions


@dataclass(frozen=True)
class Pick:
    paper: Paper
    score: float
    because: Paper


def picks_for(
    user,
    *,
    limit: int = 10,
    exclude_ids: Iterable[int] = (),
    since: dt.datetime | None = None,
) -> list[Pick]:
    from broadsheet.search.backends import get_backend
    from broadsheet.search.results import Filters

    liked = list(
        Upvote.objects.filter(user=user, paper__hidden=False)
        .order_by("-created", "-id")
        .values_list("paper_id", flat=True)[:LIKED]
    )
    if not liked or limit <= 0:
        return []
    backend = get_backend()
    if not backend.has_vectors():
        return []
    voted = set(Upvote.objects.filter(user=user).values_list("paper_id", flat=True))
    excluded = voted | {int(i) for i in exclude_ids}
    best: dict[int, tuple[float, int]] = {}
    for liked_id in liked:
        vector = backend.vector_of(liked_id)
        if vector is None:
            continue
        for pid, score in backend.semantic(vector, Filters(), NEIGHBOURS):
            if pid in excluded:
                continue
            if pid not in best or score > best[pid][0]:
                best[pid] = (score, liked_id)
    if not best:
        return []
    candidates = Paper.objects.visible().filter(id__in=best)
    if since is not None:
        candidates = candidates.filter(
            Q(published_at__gte=since) | Q(listing__submitted_at__gte=since, listing__hidden=False)
        )
    papers = candidates.in_bulk()
    because = Paper.objects.in_bulk({best[pid][1] for pid in papers})
    order = sorted(papers, key=lambda pid: (-best[pid][0], pid))[:limit]
    return [Pick(papers[pid], float(best[pid][0]), because[best[pid][1]]) for pid in order]
