"""What a channel's message of a period holds, and its text.

The papers are chosen once, when the period's run is made, and stored on it, so a retry or a
sender that takes over after a crash sends the same message:

- top: the community feed's top N (by votes) of the period's day, or of the latest day with
  listings before it (arXiv announces nothing at weekends), as the home page shows;
- search: the saved search's new hits, found as digests find them (digests' Composer), after
  the previous message of the channel was composed;
- new: the top N of the owner's New view (broadsheet.search.recommend.arrivals_ranked): the
  arXiv arrivals of the period's day, or of the latest day with arrivals before it, ranked
  by the owner's model.

Papers an earlier message of the channel held (within KEEP_DAYS) are left out, and the
channel's filter (`paper_filter`, a PaperFilter) applies to all three.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings

from broadsheet.channels.models import Channel, ChannelRun
from broadsheet.digests.compose import SEARCH_DEPTH, Composer
from broadsheet.digests.periods import Period
from broadsheet.papers.filters import FilterError, PaperFilter
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


def paper_filter(channel: Channel) -> PaperFilter:
    """The channel's filter; one stored under older rules is ignored (logged)."""
    try:
        return PaperFilter.from_string(channel.paper_filter)
    except FilterError as e:
        log.warning("channel %s: its filter is ignored (%s)", channel.pk, e)
        return PaperFilter()


def choose(channel: Channel, period: Period, composer: Composer) -> list[int]:
    """The ids of the papers for `channel`'s message of `period`, in order."""
    latest, seen = history(channel, composer.now)
    since = latest or (period.start() - period.length)
    n = channel.top_n
    wanted = paper_filter(channel)
    if channel.content == Channel.Content.TOP:
        days = Listing.objects.visible().filter(day__lte=period.first_day).order_by("-day")
        day = days.values_list("day", flat=True).first()
        if day is None:
            return []
        ranked = Listing.objects.listed_on(day).by_votes().exclude(paper_id__in=seen)
        ranked = wanted.apply(ranked, field="paper__")
        return list(ranked.values_list("paper_id", flat=True)[:n])
    if channel.content == Channel.Content.SEARCH:
        if channel.saved_search is None:
            return []
        hits = composer.new_hits(channel.saved_search, since, limit=SEARCH_DEPTH)
        ids = [p.pk for p in hits if p.pk not in seen]
        if wanted and ids:
            kept = set(wanted.apply(Paper.objects.filter(pk__in=ids)).values_list("pk", flat=True))
            ids = [i for i in ids if i in kept]
        return ids[:n]
    if channel.content == Channel.Content.NEW and channel.owner is not None:
        from broadsheet.papers.arrivals import latest_day
        from broadsheet.search.recommend import arrivals_ranked

        day = latest_day(period.first_day)
        if day is None:
            return []
        order, _, _ = arrivals_ranked(channel.owner, day, wanted)
        return [pid for pid in order if pid not in seen][:n]
    return []


def heading(channel: Channel, period: Period) -> str:
    site = settings.SITE_NAME
    if channel.content == Channel.Content.SEARCH and channel.saved_search is not None:
        return f"{site}: new papers for “{channel.saved_search.query}”"
    if channel.content == Channel.Content.NEW:
        return f"{site}: new for you, {period.label}"
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
