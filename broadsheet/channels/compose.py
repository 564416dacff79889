"""What a channel's message of a period holds, and its text.

The papers are chosen once, when the period's run is made, and stored on it, so a retry or a
sender that takes over after a crash sends the same message:

- top: the community feed's top N (by votes) of the period's day, or of the latest day with
  listings before it (arXiv announces nothing at weekends), as the home page shows;
- search: the saved search's new hits, found as digests find them (digests' Composer), after
  the previous message of the channel was composed;
- foryou: the owner's For you picks (broadsheet.search.recommend) since then.

Papers an earlier message of the channel held (within KEEP_DAYS) are left out.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings

from broadsheet.channels.models import Channel, ChannelRun
from broadsheet.digests.compose import SEARCH_DEPTH, Composer
from broadsheet.digests.periods import Period
from broadsheet.papers.models import Listing, Paper

log = logging.getLogger("broadsheet.channels")
KEEP_DAYS = 30  # how far back a channel's earlier messages are looked at for repeats


def history(channel: Channel, now: dt.datetime) -> tuple[dt.datetime | None, set[int]]:
    """When the channel's latest message was composed, and the papers sent lately."""
    rows = ChannelRun.objects.filter(
        channel=channel, cutoff__gte=now - dt.timedelta(days=KEEP_DAYS)
    ).values_list("cutoff", "paper_ids")
    latest, seen = None, set()
    for cutoff, ids in rows:
        latest = cutoff if latest is None or cutoff > latest else latest
        seen.update(int(i) for i in ids or ())
    return latest, seen


def choose(channel: Channel, period: Period, composer: Composer) -> list[int]:
    """The ids of the papers for `channel`'s message of `period`, in order."""
    latest, seen = history(channel, composer.now)
    since = latest or (period.start() - period.length)
    n = channel.top_n
    if channel.content == Channel.Content.TOP:
        days = Listing.objects.visible().filter(day__lte=period.first_day).order_by("-day")
        day = days.values_list("day", flat=True).first()
        if day is None:
            return []
        ranked = Listing.objects.listed_on(day).by_votes().exclude(paper_id__in=seen)
        return list(ranked.values_list("paper_id", flat=True)[:n])
    if channel.content == Channel.Content.SEARCH:
        if channel.saved_search is None:
            return []
        hits = composer.new_hits(channel.saved_search, since, limit=SEARCH_DEPTH)
        return [p.pk for p in hits if p.pk not in seen][:n]
    if channel.content == Channel.Content.FOR_YOU and channel.owner is not None:
        from broadsheet.search.recommend import picks_for

        picks = picks_for(channel.owner, limit=n, exclude_ids=seen, since=since)
        return [pick.paper.pk for pick in picks]
    return []


def heading(channel: Channel, period: Period) -> str:
    site = settings.SITE_NAME
    if channel.content == Channel.Content.SEARCH and channel.saved_search is not None:
        return f"{site}: new papers for “{channel.saved_search.query}”"
    if channel.content == Channel.Content.FOR_YOU:
        return f"{site}: for you, {period.label}"
    return f"{site}: top papers, {period.label}"


def _line(number: int, paper: Paper) -> str:
    title = " ".join(paper.title.split()).replace("[", "(").replace("]", ")")
    return f"{number}. [{title}]({settings.SITE_URL}{paper.get_absolute_url()})"


def message(channel: Channel, period: Period, paper_ids: list[int]) -> tuple[str, str]:
    """(title, Markdown body) of the message. Papers hidden since they were chosen are left
    out; the numbering follows what is shown."""
    papers = Paper.objects.visible().in_bulk(paper_ids)
    shown = [papers[i] for i in paper_ids if i in papers]
    body = "\n".join(_line(n, p) for n, p in enumerate(shown, start=1))
    return heading(channel, period), body or "(the papers of this message were withdrawn)"


def test_message(channel: Channel) -> tuple[str, str]:
    what = Channel.Content(channel.content).label.lower()
    at = channel.send_at.strftime("%H:%M")
    return (
        f"{settings.SITE_NAME}: test message",
        f"This channel (“{channel.name}”) is connected. It will receive {what}, "
        f"up to {channel.top_n}, every day at {at} ({settings.TIME_ZONE}).\n"
        f"{settings.SITE_URL}/",
    )
