"""Personal picks (broadsheet.search.recommend.picks_for) and the /for-you page, over the
sample listing embedded by the real model."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from django.test import Client
from factories import make_paper, make_user, upvote

from broadsheet.papers import collections
from broadsheet.papers.dismissals import dismiss
from broadsheet.papers.models import Dismissal
from broadsheet.search.models import SearchDocument
from broadsheet.search.recommend import _random_negatives, fit_linear, picks_for, vectors_of

pytestmark = pytest.mark.django_db

SAE = "Interpreting Attention Layer Outputs with Sparse Autoencoders"
SAE_LIKE = {
    "Towards Open-Ended Visual Scientific Discovery with Sparse Autoencoders",
    "Adaptive Sparse Allocation with Mutual Choice & Feature Choice Sparse Autoencoders",
    "Features that Make a Difference: Leveraging Gradients for Improved Dictionary Learning",
}


@pytest.fixture
def ada(db):
    return make_user("ada")


def titles(picks) -> list[str]:
    return [p.paper.title for p in picks]


def test_no_history_no_picks(sample, ada):
    assert picks_for(ada) == []


def test_picks_are_like_what_the_member_upvoted_and_say_why(sample, ada):
    upvote(ada, sample[SAE])
    picks = picks_for(ada, limit=5)
    assert len(picks) == 5
    assert SAE not in titles(picks)
    assert SAE_LIKE & set(titles(picks)[:3]), titles(picks)
    assert all(p.because == sample[SAE] for p in picks)
    assert [p.score for p in picks] == sorted((p.score for p in picks), reverse=True)


def test_collected_papers_count_as_liked_and_because_names_the_closest(sample, ada):
    causal = "Causal Reasoning and Large Language Models: Opening a New Frontier for Causality"
    reading = collections.create(ada, "Reading")
    collections.add_paper(reading, sample[causal])
    upvote(ada, sample[SAE])
    picks = {p.paper.title: p for p in picks_for(ada, limit=34)}
    assert causal not in picks and SAE not in picks
    assert picks["Large Causal Models from Large Language Models"].because == sample[causal]
    some_sae = next(t for t in SAE_LIKE if t in picks)
    assert picks[some_sae].because == sample[SAE]


def test_dismissed_excluded_and_hidden_papers_are_never_picked(sample, ada):
    upvote(ada, sample[SAE])
    first, second, third = titles(picks_for(ada, limit=3))
    dismiss(ada, sample[first])
    dismiss(ada, sample[first])  # twice changes nothing
    assert Dismissal.objects.filter(user=ada).count() == 1
    hidden = sample[second]
    hidden.hidden = True
    hidden.save()
    picks = titles(picks_for(ada, limit=10, exclude_ids=[sample[third].pk]))
    assert not {first, second, third} & set(picks)
    assert len(picks) == 10


def test_since_keeps_only_papers_listed_or_published_since(sample, ada, index):
    upvote(ada, sample[SAE])
    new = make_paper(
        "Sparse autoencoders find interpretable features in vision transformers",
        abstract="We train sparse autoencoders on the residual stream of vision transformers "
        "and find monosemantic, interpretable features.",
        published_at=dt.datetime(2026, 11, 20, tzinfo=dt.UTC),
    )
    index(new)
    picks = picks_for(ada, since=dt.date(2026, 11, 1))
    assert titles(picks) == [new.title]
    assert picks[0].because == sample[SAE]
    # Listed since: the sample was listed on 2026-06-23.
    assert new.title in titles(picks_for(ada, since=dt.date(2026, 6, 23)))
    assert len(picks_for(ada, since=dt.date(2026, 6, 23), limit=50)) > 1


def test_the_model_gets_its_negatives_however_sparse_the_ids(sample):
    """Random ids between the smallest and the largest find few papers when the ids are far
    apart; the rest come in id order, so a small site's model still has every other paper."""
    far = SearchDocument.objects.filter(embedded_at__isnull=False).order_by("paper_id").last()
    paper = make_paper("Far away", pk=far.paper_id + 10_000_000)
    SearchDocument.objects.create(
        paper=paper, embedding=far.embedding, embedded_at=far.embedded_at, text_hash="x"
    )
    embedded = SearchDocument.objects.filter(embedded_at__isnull=False)
    liked = set(embedded.values_list("paper_id", flat=True)[:2])
    assert len(_random_negatives(liked)) == embedded.count() - 2


def test_the_linear_model_tells_likes_from_other_papers():
    rng = np.random.default_rng(0)
    centre = rng.normal(size=384)
    positives = centre + rng.normal(scale=0.5, size=(10, 384))
    negatives = rng.normal(size=(200, 384))
    w = fit_linear(positives, negatives)
    new_like = centre + rng.normal(scale=0.5, size=384)
    assert new_like @ w[:-1] + w[-1] > 0
    assert (negatives @ w[:-1] + w[-1] < 0).mean() > 0.9


# The page ------------------------------------------------------------------------------------


def test_for_you_without_history_shows_trending_and_invites_to_vote(sample, ada, settings):
    settings.TRENDING_DAYS = 100_000  # the sample listing is months old
    anonymous = Client().get("/for-you").content.decode()
    assert "Log in</a> and upvote a few papers" in anonymous
    client = Client()
    client.force_login(ada)
    page = client.get("/for-you").content.decode()
    assert "Upvote or save a few papers" in page
    assert page.count('class="card"') == 34


def test_for_you_lists_picks_and_remembers_not_interested(sample, ada):
    upvote(ada, sample[SAE])
    client = Client()
    client.force_login(ada)
    page = client.get("/for-you").content.decode()
    assert "Because you liked" in page and page.count('class="card pick"') == 30
    first = picks_for(ada, limit=1)[0].paper
    assert f'id="p-{first.pk}"' in page

    response = client.post(
        "/for-you/not-interested", {"paper": first.ref}, HTTP_ACCEPT="application/json"
    )
    assert response.json() == {"dismissed": True, "paper": first.ref}
    assert f'id="p-{first.pk}"' not in client.get("/for-you").content.decode()
    # Without JavaScript: a redirect back to the page.
    second = picks_for(ada, limit=1)[0].paper
    response = client.post("/for-you/not-interested", {"paper": second.ref})
    assert response.status_code == 302 and response["Location"] == "/for-you"


def test_not_interested_needs_a_member_and_a_real_paper(sample, ada):
    assert Client().post("/for-you/not-interested", {"paper": "x"}).status_code == 302
    client = Client()
    client.force_login(ada)
    assert client.post("/for-you/not-interested", {"paper": "no-such"}).status_code == 404
    assert client.get("/for-you/not-interested").status_code == 405
    assert not Dismissal.objects.exists()


def test_vectors_of_many_ids_reads_the_stored_vectors_in_one_query(
    sample, index, django_assert_num_queries
):
    unembedded = make_paper("A paper not embedded yet")
    index(unembedded, embed=False)
    stored = dict(
        SearchDocument.objects.filter(embedded_at__isnull=False).values_list(
            "paper_id", "embedding"
        )
    )
    # Hundreds of ids (a day's arrivals), unsorted and repeated, some with no paper at all.
    wanted = [*sorted(stored, reverse=True), *stored, unembedded.pk, *range(10**6, 10**6 + 400)]
    with django_assert_num_queries(1):
        found = vectors_of(wanted)
    assert list(found) == sorted(stored)
    for pid, vector in found.items():
        assert vector.dtype == np.float32 and vector.shape == (384,)
        np.testing.assert_array_equal(vector, stored[pid])
    assert vectors_of([]) == {}
