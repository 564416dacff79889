"""A member's For you channel: their personal picks (broadsheet.search.recommend), over the
sample listing embedded by the real model (here for this directory's fixtures), and only new
papers the next day."""

from __future__ import annotations

import datetime as dt

import time_machine
from channels.conftest import _receiver_server, make_channel, receiver  # noqa: F401
from factories import make_paper, make_user, upvote

from broadsheet.channels.models import ChannelRun
from broadsheet.channels.send import send_channels

from .test_recommend import SAE, SAE_LIKE

LISTED = dt.datetime(2026, 6, 23, 12, 0, tzinfo=dt.UTC)  # the day load-sample lists


def test_for_you_sends_the_members_picks_then_only_new_ones(sample, index, receiver):  # noqa: F811
    ada = make_user("ada")
    upvote(ada, sample[SAE])
    channel = make_channel(receiver.url("ada/foryou"), ada, content="foryou", top_n=3)
    with time_machine.travel(LISTED, tick=False):
        send_channels()
    [got] = receiver.messages
    assert got.title == "Broadsheet: for you, Tuesday 23 June 2026"
    first = ChannelRun.objects.get(channel=channel).paper_ids
    titles = {p.title for p in sample.values() if p.pk in first}
    assert len(first) == 3 and SAE not in titles and SAE_LIKE & titles, titles

    # The next day: only what came in since, like the member's likes.
    new = make_paper(
        "Sparse autoencoders find interpretable features in vision transformers",
        abstract="We train sparse autoencoders on the residual stream of vision transformers "
        "and find monosemantic, interpretable features.",
        published_at=LISTED + dt.timedelta(hours=20),
    )
    index(new)
    with time_machine.travel(LISTED + dt.timedelta(days=1), tick=False):
        send_channels()
    assert ChannelRun.objects.get(channel=channel, period="2026-06-24").paper_ids == [new.pk]
    assert new.title in receiver.messages[1].message
