"""Personal picks: papers like the ones a member upvoted or collected (imported libraries
included: liked_ids).

    picks_for(user, *, limit=10, exclude_ids=(), since=None) -> list[Pick]

Two signals over the stored MiniLM vectors (no model is run here):

1. similarity: a candidate's cosine similarity to the closest paper the member liked (that
   paper is the pick's `because`);
2. a linear model in the manner of arxiv-sanity: a small L2-regularised logistic regression
   fitted, per call, on the member's liked papers against random other papers. It learns
   which directions of the embedding space the member cares about as a whole, so a paper close
   to the centre of several likes beats one close to a single odd like.

score = 0.3 * similarity + 0.7 * model probability (weights from bench/recommend.py),
less a penalty for resembling what the member dismissed ("not interested"): their latest
DISMISSED_MAX dismissals are negatives the linear model learns from, and a candidate loses
DISMISSED_WEIGHT times its cosine to the closest of them above MIN_SIMILARITY, so a dismissed
topic sinks while unrelated papers keep their place.
Candidates are the nearest neighbours of each liked paper (the vector index: faiss or
pgvector HNSW) plus, when `since` is given, every paper listed since then, scored exactly.
`rank(profile, ids)` orders given papers (a day of arrivals: the New view) by the same score.
Never returned by picks_for: papers the member upvoted, collected or dismissed ("not
interested"), ids in `exclude_ids`, hidden papers, and papers below MIN_SIMILARITY to every
like. A member with no likes (or whose likes have no vectors yet) gets [].
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from django.db.models import Max, Min, Q
from django.utils import timezone

from broadsheet.papers.models import (
    CollectionItem,
    Dismissal,
    Listing,
    Paper,
    Upvote,
)

LIKES_MAX = 50  # the member's most recent likes used (older tastes fade out)
NEIGHBOURS = 40  # nearest papers taken per like
# Likes whose neighbours are looked up (one vector-index query each, the main cost of a call);
# all LIKES_MAX still train the linear model and score every candidate.
NEIGHBOUR_LIKES = 20
RECENT_MAX = 3000  # papers listed since `since` scored exactly, at most
NEGATIVES = 300  # random papers the linear model learns to tell the likes from
MIN_SIMILARITY = 0.2  # MiniLM puts unrelated abstracts at about 0.0-0.2
SIMILARITY_WEIGHT = 0.3  # measured with bench/recommend.py (bench/README.md)
MODEL_WEIGHT = 1.0 - SIMILARITY_WEIGHT
DISMISSED_MAX = 50  # the member's most recent "not interested" papers used as negatives
# A day's arrivals ranked at most (a big set of categories announces a few hundred a day).
ARRIVALS_MAX = 2000
DISMISSED_WEIGHT = 1.0  # per unit of cosine (above MIN_SIMILARITY) to a dismissed paper


@dataclass(frozen=True)
class Pick:
    paper: Paper
    score: float
    because: Paper  # the liked paper this one is most similar to


def _newest_first(rows) -> list[int]:
    latest: dict[int, dt.datetime] = {}
    for pid, when in rows:
        if pid not in latest or when > latest[pid]:
            latest[pid] = when
    return sorted(latest, key=lambda pid: latest[pid], reverse=True)


def liked_ids(user) -> list[int]:
    """Papers the member upvoted or collected, the most recent first.

    Papers of an imported library (a collection with a source, broadsheet.library) count too,
    but never crowd out the member's own votes and saves: the two lists are interleaved, so
    when both are long each has half of the first LIKES_MAX (a library of thousands, imported
    after a year of votes, would otherwise be all the model sees)."""
    upvoted = Upvote.objects.filter(user=user, paper__hidden=False).values_list(
        "paper_id", "created"
    )
    items = CollectionItem.objects.filter(collection__owner=user, paper__hidden=False)
    saved = items.filter(collection__source="").values_list("paper_id", "added")
    own = _newest_first([*upvoted, *saved])
    mine = set(own)
    library = [
        pid
        for pid in _newest_first(
            items.exclude(collection__source="").values_list("paper_id", "added")
        )
        if pid not in mine
    ]
    mixed = [pid for pair in zip(own, library, strict=False) for pid in pair]
    shorter = min(len(own), len(library))
    return mixed + own[shorter:] + library[shorter:]


def dismissed_ids(user) -> list[int]:
    """Papers the member is not interested in, the most recent first."""
    rows = Dismissal.objects.filter(user=user).order_by("-created", "-id")
    return list(rows.values_list("paper_id", flat=True))


def _stack(vectors: dict[int, np.ndarray], ids: Iterable[int]) -> np.ndarray:
    found = [vectors[i] for i in ids if i in vectors]
    return np.stack(found) if found else np.zeros((0, 384), dtype=np.float32)


def vectors_of(ids: Iterable[int]) -> dict[int, np.ndarray]:
    """The stored vectors of those of `ids` that have one, by ascending id (one statement:
    the search backend's `vectors_of`)."""
    from broadsheet.search.backends import get_backend

    return get_backend().vectors_of(sorted({int(i) for i in ids}))


def _start(since) -> dt.datetime | None:
    if since is None or isinstance(since, dt.datetime):
        return since
    tz = timezone.get_current_timezone()
    return dt.datetime.combine(since, dt.time.min, tzinfo=tz)


def _random_negatives(exclude: set[int]) -> np.ndarray:
    """Vectors of about NEGATIVES random papers: random ids between the smallest and the
    largest, which costs an index lookup each rather than the full scan of ORDER BY random().
    Where ids are sparse (a small corpus, or one thinned by deletions) too few of them are
    papers, and the rest are the first papers by id: enough negatives whatever the ids."""
    from broadsheet.search.models import SearchDocument

    documents = SearchDocument.objects.filter(embedded_at__isnull=False)
    bounds = documents.aggregate(low=Min("paper_id"), top=Max("paper_id"))
    if bounds["top"] is None:
        return np.zeros((0, 384), dtype=np.float32)
    low, top = bounds["low"], bounds["top"]
    rng = np.random.default_rng(top)  # the same negatives for the same corpus: stable pages
    ids = set(rng.integers(low, top + 1, size=NEGATIVES * 3).tolist()) - exclude
    found = dict(list(vectors_of(ids).items())[:NEGATIVES])
    if len(found) < NEGATIVES:
        rest = (
            documents.exclude(paper_id__in=exclude | set(found))
            .order_by("paper_id")
            .values_list("paper_id", flat=True)[: NEGATIVES - len(found)]
        )
        found.update(vectors_of(list(rest)))
    return np.stack(list(found.values())) if found else np.zeros((0, 384), dtype=np.float32)


def fit_linear(positives: np.ndarray, negatives: np.ndarray, steps: int = 200) -> np.ndarray:
    """Weights (last entry the bias) of a logistic regression, classes weighted equally,
    fitted by gradient descent. A few milliseconds for hundreds of 384-d vectors."""
    x = np.vstack([positives, negatives]).astype(np.float64)
    x = np.hstack([x, np.ones((len(x), 1))])
    y = np.concatenate([np.ones(len(positives)), np.zeros(len(negatives))])
    weight = np.where(y == 1, 0.5 / max(len(positives), 1), 0.5 / max(len(negatives), 1))
    w = np.zeros(x.shape[1])
    l2, rate = 1e-3, 4.0
    for _ in range(steps):
        p = 1.0 / (1.0 + np.exp(-(x @ w)))
        gradient = x.T @ (weight * (p - y)) + l2 * np.r_[w[:-1], 0.0]
        w -= rate * gradient
    return w


def score(
    likes: np.ndarray,
    candidates: np.ndarray,
    negatives: np.ndarray,
    dismissed: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(score, cosine to the closest like, index of that like) per candidate row."""
    similarity = candidates @ likes.T  # unit vectors: cosine
    best = similarity.argmax(axis=1)
    nearest = similarity[np.arange(len(candidates)), best]
    has_dismissed = dismissed is not None and len(dismissed) > 0
    if has_dismissed:
        negatives = np.vstack([negatives, dismissed]) if len(negatives) else dismissed
    if len(negatives):
        w = fit_linear(likes, negatives)
        logits = candidates.astype(np.float64) @ w[:-1] + w[-1]
        probability = 1.0 / (1.0 + np.exp(-logits))
    else:
        probability = np.zeros(len(candidates))
    total = SIMILARITY_WEIGHT * nearest + MODEL_WEIGHT * probability
    if has_dismissed:
        closest = (candidates @ dismissed.T).max(axis=1)
        total = total - DISMISSED_WEIGHT * np.clip(closest - MIN_SIMILARITY, 0.0, None)
    return total, nearest, best


def _candidates(likes: dict[int, np.ndarray], start: dt.datetime | None) -> set[int]:
    from broadsheet.search.backends import get_backend
    from broadsheet.search.results import Filters

    backend = get_backend()
    filters = Filters(after=timezone.localdate(start)) if start else Filters()
    found: set[int] = set()
    for vector in list(likes.values())[:NEIGHBOUR_LIKES]:
        found.update(pid for pid, _ in backend.semantic(vector, filters, NEIGHBOURS))
    if start is not None:
        recent = Listing.objects.visible().filter(submitted_at__gte=start)
        found.update(
            recent.order_by("-submitted_at").values_list("paper_id", flat=True)[:RECENT_MAX]
        )
    return found


@dataclass(frozen=True)
class Profile:
    """What the member's model is made of: the papers they liked (ids, newest first) and the
    vectors of the latest ones, and what they dismissed (ids, and the latest ones' vectors)."""

    liked: list[int]
    likes: dict[int, np.ndarray]
    dismissed: list[int]
    dismissed_vectors: np.ndarray


def profile_of(user) -> Profile | None:
    """The member's profile; None without history (no liked paper with a vector). A fixed
    number of queries."""
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    liked = liked_ids(user)
    dismissed = dismissed_ids(user)
    stored = vectors_of([*liked[:LIKES_MAX], *dismissed[:DISMISSED_MAX]])
    likes = {pid: stored[pid] for pid in liked[:LIKES_MAX] if pid in stored}  # newest first
    if not likes:
        return None
    return Profile(liked, likes, dismissed, _stack(stored, dismissed[:DISMISSED_MAX]))


@dataclass(frozen=True)
class Ranked:
    paper_id: int
    score: float | None  # None: the paper has no vector yet (ranked last, in the given order)
    because_id: int | None  # the liked paper it is most similar to, when similar enough


def rank(profile: Profile, paper_ids: Iterable[int]) -> list[Ranked]:
    """Every one of `paper_ids`, best first for the member: the New view's order. Papers
    without a vector yet come last, in the order given."""
    paper_ids = list(dict.fromkeys(paper_ids))
    candidates = vectors_of(paper_ids)
    scored = [pid for pid in paper_ids if pid in candidates]
    out: list[Ranked] = []
    if scored:
        like_ids = list(profile.likes)
        scores, nearest, best = score(
            np.stack([profile.likes[i] for i in like_ids]),
            np.stack([candidates[i] for i in scored]),
            _random_negatives(set(profile.liked)),
            profile.dismissed_vectors,
        )
        for i in np.argsort(-scores, kind="stable"):
            because = like_ids[best[i]]
            liked_itself = because == scored[i]
            out.append(
                Ranked(
                    scored[i],
                    float(scores[i]),
                    None if liked_itself or nearest[i] < MIN_SIMILARITY else because,
                )
            )
    out += [Ranked(pid, None, None) for pid in paper_ids if pid not in candidates]
    return out


def picks_for(user, *, limit: int = 10, exclude_ids=(), since=None) -> list[Pick]:
    if limit <= 0:
        return []
    profile = profile_of(user)
    if profile is None:
        return []
    liked, likes = profile.liked, profile.likes
    start = _start(since)
    excluded = set(liked) | set(profile.dismissed) | {int(i) for i in exclude_ids}
    candidate_ids = _candidates(likes, start) - excluded
    visible = Paper.objects.visible().filter(pk__in=candidate_ids)
    if start is not None:
        visible = visible.filter(
            Q(published_at__gte=start) | Q(listing__hidden=False, listing__submitted_at__gte=start)
        )
    candidates = vectors_of(visible.values_list("pk", flat=True))
    if not candidates:
        return []

    like_ids = list(likes)
    cand_ids = list(candidates)
    scores, nearest, best = score(
        np.stack([likes[i] for i in like_ids]),
        np.stack([candidates[i] for i in cand_ids]),
        _random_negatives(set(liked)),
        profile.dismissed_vectors,
    )

    order = [i for i in np.argsort(-scores, kind="stable") if nearest[i] >= MIN_SIMILARITY]
    order = order[:limit]
    chosen = [cand_ids[i] for i in order]
    because = {cand_ids[i]: like_ids[best[i]] for i in order}
    papers = Paper.objects.visible().for_cards().in_bulk([*chosen, *set(because.values())])
    return [
        Pick(paper=papers[pid], score=float(scores[i]), because=papers[because[pid]])
        for i, pid in zip(order, chosen, strict=True)
        if pid in papers and because[pid] in papers
    ]


def arrivals_ranked(user, day, paper_filter=None) -> tuple[list[int], dict[int, int], bool]:
    """The New view's order of `day`'s arrivals (broadsheet.papers.arrivals) for a member
    (or None): the ids the filter lets through, ranked by the member's model when they have
    history, else the most recently submitted first; the liked paper each ranked one is most
    like; and whether the model ranked them. Papers the member dismissed are left out."""
    from broadsheet.papers.arrivals import arrived_on

    papers = arrived_on(day)
    if paper_filter:
        papers = paper_filter.apply(papers)
    ids = list(papers.values_list("pk", flat=True)[:ARRIVALS_MAX])
    profile = profile_of(user)
    if profile is None:
        if user is not None and getattr(user, "is_authenticated", False):
            dismissed = set(dismissed_ids(user))
            ids = [i for i in ids if i not in dismissed]
        return ids, {}, False
    dismissed = set(profile.dismissed)
    ranked = rank(profile, [i for i in ids if i not in dismissed])
    because = {r.paper_id: r.because_id for r in ranked if r.because_id is not None}
    return [r.paper_id for r in ranked], because, True
