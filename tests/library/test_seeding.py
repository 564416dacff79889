"""Imported libraries seed For you and the digest's picks (recommend.picks_for), without
crowding out the member's own votes and saves."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.management import call_command
from django.utils import timezone
from factories import make_paper, make_user, upvote

from broadsheet.library.imports import import_file
from broadsheet.papers import collections
from broadsheet.papers.models import Collection, CollectionItem, Paper
from broadsheet.search.recommend import LIKES_MAX, liked_ids, picks_for

pytestmark = pytest.mark.django_db

SAE_LIBRARY = [
    "Interpreting Attention Layer Outputs with Sparse Autoencoders",
    "Towards Open-Ended Visual Scientific Discovery with Sparse Autoencoders",
]
SAE_LIKE = {
    "Adaptive Sparse Allocation with Mutual Choice & Feature Choice Sparse Autoencoders",
    "Features that Make a Difference: Leveraging Gradients for Improved Dictionary Learning",
}


def test_a_big_library_never_crowds_out_the_members_own_likes():
    ada = make_user("ada")
    long_ago = timezone.now() - dt.timedelta(days=300)
    voted = [make_paper(f"Voted {i}") for i in range(3)]
    for p in voted:
        upvote(ada, p)
    from broadsheet.papers.models import Upvote

    Upvote.objects.filter(user=ada).update(created=long_ago)
    saved = collections.create(ada, "Reading")
    collections.add_paper(saved, own := make_paper("Saved by hand"))
    CollectionItem.objects.filter(collection=saved).update(added=long_ago)
    library = Collection.objects.create(owner=ada, name="lab.bib", source="file:lab.bib")
    papers = [make_paper(f"Library {i}") for i in range(80)]
    CollectionItem.objects.bulk_create(CollectionItem(collection=library, paper=p) for p in papers)

    liked = liked_ids(ada)
    mine = {p.pk for p in voted} | {own.pk}
    assert mine <= set(liked[:LIKES_MAX])  # all 80 library papers are newer than these
    assert set(liked[: 2 * len(mine)]) - mine <= {p.pk for p in papers}
    assert len(liked) == 84 and set(liked) == mine | {p.pk for p in papers}


def test_an_imported_library_seeds_the_picks():
    call_command("load-sample", "--day", "2026-06-23", "--no-arxiv", verbosity=0)
    ada = make_user("ada")
    assert picks_for(ada) == []
    bib = "\n".join(f"@misc{{p{i}, title = {{{t}}}}}" for i, t in enumerate(SAE_LIBRARY))
    report = import_file(ada, "sae.bib", bib.encode(), fetch_max=0)
    assert report.matched == 2, report.lines()

    picks = picks_for(ada, limit=5)
    titles = [p.paper.title for p in picks]
    assert SAE_LIKE & set(titles[:3]), titles
    assert not set(SAE_LIBRARY) & set(titles)
    library = set(Paper.objects.filter(title__in=SAE_LIBRARY))
    assert all(p.because in library for p in picks)
