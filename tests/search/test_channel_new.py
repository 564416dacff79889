"""A member's "New" channel: the top N of their New view (broadsheet.search.recommend
.arrivals_ranked), ranked by their model, over the sample listing embedded by the real model
(here for this directory's fixtures); then only what was not sent before; and a channel's
filter, on the New and community options."""

from __future__ import annotations

import datetime as dt

import time_machine
from channels.conftest import _receiver_server, make_channel, receiver  # noqa: F401
from django.test import Client
from factories import list_paper, make_user, upvote

from broadsheet.channels.models import Channel, ChannelRun
from broadsheet.channels.send import send_channels
from broadsheet.papers.models import Paper

from .test_new_view import DAY, NOON, arrivals  # noqa: F401
from .test_recommend import SAE, SAE_LIKE


def test_new_sends_the_top_of_the_members_new_view_then_the_rest(arrivals, receiver):  # noqa: F811
    ada = make_user("ada")
    upvote(ada, arrivals[SAE])
    channel = make_channel(receiver.url("ada/new"), ada, content="new", top_n=3)
    with time_machine.travel(NOON, tick=False):
        send_channels()
    [got] = receiver.messages
    assert got.title == "Broadsheet: new for you, Tuesday 24 November 2026"
    first = ChannelRun.objects.get(channel=channel).paper_ids
    titles = {p.title for p in arrivals.values() if p.pk in first}
    assert len(first) == 3 and SAE_LIKE & titles, titles
    # The next day has no arrivals: the latest day's next three, none sent again.
    with time_machine.travel(NOON + dt.timedelta(days=1), tick=False):
        send_channels()
    second = ChannelRun.objects.get(channel=channel, period="2026-11-25").paper_ids
    assert len(second) == 3 and not set(first) & set(second)


def test_a_channels_filter_applies_and_is_checked_in_the_form(arrivals, receiver):  # noqa: F811
    ada = make_user("ada")
    new = make_channel(
        receiver.url("ada/new"), ada, content="new", top_n=5, paper_filter="include=causal"
    )
    everyone = make_channel(receiver.url("site"), None, top_n=5, paper_filter="exclude=sparse")
    for paper in arrivals.values():
        list_paper(paper, DAY)
    with time_machine.travel(NOON, tick=False):
        send_channels()
    picked = Paper.objects.filter(pk__in=ChannelRun.objects.get(channel=new).paper_ids)
    assert len(picked) == 5 and all("causal" in (p.title + p.abstract).lower() for p in picked)
    top = Paper.objects.filter(pk__in=ChannelRun.objects.get(channel=everyone).paper_ids)
    assert len(top) == 5 and not any("sparse" in (p.title + p.abstract).lower() for p in top)

    client = Client()
    client.force_login(ada)
    form = {"name": "Lab", "content": "new", "top_n": 3, "send_at": "08:00", "enabled": "on"}
    bad = client.post(f"/settings/channels/{new.pk}", form | {"paper_filter": "cat=!"})
    assert bad.status_code == 400 and "is not an arXiv category" in bad.content.decode()
    good = client.post(
        f"/settings/channels/{new.pk}",
        form | {"paper_filter": "https://example.org/new?include=causal&cat=cs.LG"},
    )
    assert good.status_code == 302
    assert Channel.objects.get(pk=new.pk).paper_filter == "cat=cs.LG&include=causal"
