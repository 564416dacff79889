"""A few key phrases per paper, in the manner of KeyBERT, with our own MiniLM embedder.

1. candidates: runs of one to three words from the title and abstract that hold no stop word
   or punctuation ("sparse autoencoders", "causal discovery", "LLM"), LaTeX math left out;
2. each candidate is embedded (phrases shared by papers of a batch are embedded once) and
   compared with the paper's stored vector (the one search uses, so nothing is embedded twice);
3. maximal marginal relevance picks KEYWORDS phrases close to the paper but not to each other,
   so the list is not five spellings of the same idea.

`keyword_missing()` fills `Paper.ai_keywords` for papers that have none yet, in batches
(`broadsheet keywords`, and the worker after `embed`). See docs/ingest.md ("Keywords") for why this
and not YAKE or the keybert package.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from django.db import transaction

from broadsheet.lib.progress import progress_bar
from broadsheet.papers.models import Paper
from broadsheet.search.embedder import embed_texts, paper_text

log = logging.getLogger("broadsheet.search")

KEYWORDS = 5
MAX_WORDS = 3
SHORTLIST = 20  # candidates closest to the paper that MMR chooses among
DIVERSITY = 0.5  # 0: the closest phrases, however alike; 1: as unlike each other as possible
# Candidates embedded per paper, chosen by a cheap score first. Embedding every phrase of an
# abstract (about 120) is most of the cost: on 100 arXiv abstracts (arxiv-1000.csv) all of them
# ran at 1.0 papers/s, 40 at 1.5 papers/s (2 cores under load from other work), with the chosen
# keywords about the same (bench/README.md, "recommend.py").
MAX_CANDIDATES = 40
BATCH = 64  # papers per transaction

EmbedFn = Callable[[list[str]], np.ndarray]

# English function words and the filler of abstracts ("we propose a novel method").
STOP_WORDS = frozenset(
    """
    a about above across after again against all almost also although always am among an and
    another any are around as at be became because been before being below between both but by
    can cannot could did do does doing done down during each either else enough especially etc
    even ever every few for from further had has have having here how however i if in into is it
    its itself just least less like made make makes many may might more most much must my neither
    no nor not now of off often on once one only onto or other others otherwise our ours out over
    own per perhaps rather same several shall she should since so some such than that the their
    them themselves then there therefore these they this those though through thus to together
    too toward towards under until up upon us use used uses using very via was we well were what
    whatever when where whereas whether which while who whom whose why will with within without
    would yet you your
    paper papers propose proposed proposes present presents presented show shows shown
    demonstrate demonstrates introduce introduces novel new approach approaches method methods
    result results work works existing based recent recently state art significantly significant
    achieve achieves achieved improve improves improved improvement performance outperforms
    experiments experimental extensive furthermore moreover task tasks first second two three
    various different large small high low able allows enables provide provides code available
    study studies framework
    """.split()
)
_MATH = re.compile(r"\$[^$]*\$")
_TOKEN = re.compile(r"[A-Za-z][A-Za-z0-9\-]*[A-Za-z0-9]|[A-Za-z]|[^\sA-Za-z]")
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9\-]*")


def _normal(word: str) -> str:
    # Acronyms and names in mixed case keep it (LLM, Graph-CNN, ModelNet); plain and
    # capitalised words ("Learning", "Few-Shot") are lower-cased.
    if all(part[1:] == part[1:].lower() for part in word.split("-")):
        return word.lower()
    return word


def candidates(title: str, abstract: str) -> list[str]:
    """Phrases of 1-MAX_WORDS words without stop words or punctuation, the likeliest first:
    by how often the phrase occurs, whether it is in the title, and how often its words do."""
    text = _MATH.sub(" , ", f"{title} . {abstract}")
    counts: dict[str, int] = {}
    run: list[str] = []
    in_title: set[str] = set()

    def flush() -> None:
        for size in range(1, MAX_WORDS + 1):
            for start in range(len(run) - size + 1):
                phrase = " ".join(run[start : start + size])
                counts[phrase] = counts.get(phrase, 0) + 1
        run.clear()

    tokens = _TOKEN.findall(text)
    title_end = tokens.index(".") if "." in tokens else len(tokens)
    for position, token in enumerate(tokens):
        if position == title_end:
            flush()
            in_title = set(counts)
        word = _normal(token)
        if not _WORD.fullmatch(token) or word.lower() in STOP_WORDS or len(word) < 3:
            flush()
        else:
            run.append(word)
    flush()
    words: dict[str, int] = {}
    for phrase, n in counts.items():
        if " " not in phrase:
            words[phrase] = n

    def score(phrase: str) -> float:
        parts = phrase.split()
        mean = sum(words.get(w, 1) for w in parts) / len(parts)
        return 2 * counts[phrase] + 3 * (phrase in in_title) + mean

    ranked = sorted(counts, key=lambda p: (-score(p), p))
    return ranked[:MAX_CANDIDATES]


def mmr(
    doc: np.ndarray, phrases: Sequence[str], vectors: np.ndarray, k: int = KEYWORDS
) -> list[str]:
    """KeyBERT's maximal marginal relevance over unit vectors (cosine = dot)."""
    if not len(phrases):
        return []
    to_doc = vectors @ doc
    shortlist = np.argsort(-to_doc, kind="stable")[:SHORTLIST]
    chosen = [int(shortlist[0])]
    rest = [int(i) for i in shortlist[1:]]
    while rest and len(chosen) < k:
        to_chosen = (vectors[rest] @ vectors[chosen].T).max(axis=1)
        score = (1 - DIVERSITY) * to_doc[rest] - DIVERSITY * to_chosen
        chosen.append(rest.pop(int(np.argmax(score))))
    return [phrases[i] for i in chosen]


def extract(
    papers: Sequence[tuple[str, str, np.ndarray | None]], embed: EmbedFn
) -> list[list[str]]:
    """Keywords of (title, abstract, stored vector or None) triples, embedding each distinct
    candidate phrase once."""
    per_paper = [candidates(title, abstract) for title, abstract, _ in papers]
    distinct = sorted({p for phrases in per_paper for p in phrases})
    vectors = embed(distinct) if distinct else np.zeros((0, 384), dtype=np.float32)
    row = {p: i for i, p in enumerate(distinct)}
    missing = [i for i, (_, _, vec) in enumerate(papers) if vec is None]
    fresh = embed([paper_text(papers[i][0], papers[i][1]) for i in missing]) if missing else []
    docs = {i: papers[i][2] for i in range(len(papers))} | dict(zip(missing, fresh, strict=True))
    return [
        mmr(docs[i], phrases, vectors[[row[p] for p in phrases]]) if phrases else []
        for i, phrases in enumerate(per_paper)
    ]


@dataclass
class KeywordCounts:
    papers: int = 0
    phrases: int = 0

    def __str__(self) -> str:
        return f"{self.papers} papers given keywords ({self.phrases} phrases)"


def keyword_missing(
    limit: int | None = None,
    progress: bool = False,
    embed: EmbedFn | None = None,
    redo: bool = False,
    on_batch: Callable[[int], None] | None = None,
) -> KeywordCounts:
    """Keywords for every paper without them (every paper with `redo`). Idempotent: a paper
    done by a concurrent run is written again with the same phrases. `on_batch` is told how
    many papers each committed batch did (a caller's own progress display)."""
    from broadsheet.search.models import SearchDocument

    embed = embed or (lambda texts: embed_texts(texts, batch_size=32))
    todo = Paper.objects.all() if redo else Paper.objects.filter(ai_keywords__isnull=True)
    total = todo.count() if limit is None else min(todo.count(), limit)
    bar = progress_bar("Keywords", total=total) if progress else None
    counts, last = KeywordCounts(), 0
    while counts.papers < total:
        rows = list(
            todo.filter(pk__gt=last)
            .order_by("pk")
            .values_list("pk", "title", "abstract")[: min(BATCH, total - counts.papers)]
        )
        if not rows:
            break
        last = rows[-1][0]
        stored = dict(
            SearchDocument.objects.filter(
                paper_id__in=[r[0] for r in rows], embedded_at__isnull=False
            ).values_list("paper_id", "embedding")
        )
        found = extract([(t, a, stored.get(pk)) for pk, t, a in rows], embed)
        with transaction.atomic():
            for (pk, _, _), phrases in zip(rows, found, strict=True):
                Paper.objects.filter(pk=pk).update(ai_keywords=phrases)
        counts.papers += len(rows)
        counts.phrases += sum(len(f) for f in found)
        if bar is not None:
            bar.update(len(rows))
        if on_batch is not None:
            on_batch(len(rows))
    if bar is not None:
        bar.close()
    log.info("keywords: %s", counts)
    return counts
