"""Personal picks (broadsheet.search.recommend.picks_for), held to the agreed interface only,
and their section in a member's digest. Vectors are made by hand: papers about cats point
one way, papers about dogs another, so similarity is known without the model."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from factories import make_paper, make_user, upvote

from broadsheet.digests.send import send_digests
from broadsheet.search.indexing import embed_missing, index_papers
from broadsheet.search.recommend import picks_for

from .conftest import NOW, make_subscriber

DIM = 384


def _vector(text: str) -> np.ndarray:
    v = np.zeros(DIM, dtype=np.float32)
    v[0 if "cat" in text.lower() else 1] = 1.0
    v[2 + sum(map(ord, text)) % 300] = 0.3  # a little of each paper's own
    return v / np.linalg.norm(v)


@pytest.fixture
def corpus(db):
    papers = {
        name: make_paper(name, published_at=NOW - dt.timedelta(days=days))
        for name, days in [
            ("Cats one", 1),
            ("Cats two", 1),
            ("Cats three", 30),
            ("Cats hidden", 1),
            ("Dogs one", 1),
        ]  # fmt: skip
    }
    papers["Cats hidden"].hidden = True
    papers["Cats hidden"].save()
    index_papers([p.pk for p in papers.values()])
    embed_missing(embed=lambda texts: np.stack([_vector(t) for t in texts]))
    return papers


def test_no_history_means_no_picks(corpus):
    assert picks_for(make_user()) == []


def test_picks_are_like_what_was_upvoted_and_never_upvoted_hidden_or_excluded(corpus):
    user = make_user()
    upvote(user, corpus["Cats one"])
    picks = picks_for(user, limit=10)
    titles = [p.paper.title for p in picks]
    assert titles[:2] == ["Cats two", "Cats three"] or titles[:2] == ["Cats three", "Cats two"]
    assert "Cats one" not in titles and "Cats hidden" not in titles
    assert titles.index("Dogs one") > 1 if "Dogs one" in titles else True
    assert all(p.because == corpus["Cats one"] for p in picks)
    assert picks == sorted(picks, key=lambda p: -p.score)

    excluded = picks_for(user, exclude_ids=[corpus["Cats two"].pk])
    assert "Cats two" not in [p.paper.title for p in excluded]
    recent = picks_for(user, since=NOW - dt.timedelta(days=7))
    assert "Cats three" not in [p.paper.title for p in recent]
    assert len(picks_for(user, limit=1)) == 1


def test_a_members_digest_has_picks_with_the_reason(smtp, corpus):
    user = make_user("grace")
    upvote(user, corpus["Cats one"])
    make_subscriber(user.email, user=user, top_n=0)
    assert send_digests().sent == 1
    text = smtp.messages[0].message.get_body(("plain",)).get_content()
    assert "PICKED FOR YOU" in text and "Cats two" in text
    assert "because you upvoted: Cats one" in text
