"""The jobs `broadsheet worker` runs, from settings: ingest, vectors and keywords, emails, upkeep.

It sits in ops, above the apps whose work it schedules (ingest, search, digests).
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.utils import timezone

from broadsheet.ingest import jobs


def arxiv_job():
    """The site's arXiv categories, a couple of days back (late announcements, replacements)."""
    since = timezone.localdate() - dt.timedelta(days=2)
    query = " OR ".join(f"cat:{c}" for c in settings.INGEST_ARXIV_CATEGORIES)
    return jobs.ingest_arxiv(query, since=since)


def hf_daily_job():
    today = timezone.localdate()
    counts = None
    for day in (today - dt.timedelta(days=1), today):
        c = jobs.ingest_hf_daily({"date": day.isoformat()})
        counts = c if counts is None else (counts.add(c) or counts)
    return counts


def embed_job():
    """Vectors for papers the ingest jobs brought in, so they are found by meaning too."""
    from broadsheet.search.indexing import embed_missing

    return embed_missing()


def keywords_job():
    """Keywords for the papers `embed` just gave vectors."""
    from broadsheet.search.keywords import keyword_missing

    return keyword_missing()


def scheduled_jobs() -> list[tuple[str, object]]:
    """(name, function) of every job this site has configured, in the order they run."""
    out = []
    if settings.INGEST_ARXIV_CATEGORIES:
        out.append(("ingest-arxiv", arxiv_job))
    if settings.INGEST_HF_DAILY:
        out.append(("ingest-hf-daily", hf_daily_job))
    if out:
        out.append(("embed", embed_job))
        out.append(("keywords", keywords_job))
    return out


def digests_job():
    from broadsheet.digests.send import send_digests

    counts = send_digests()
    if counts.systemic:  # the job's record says it failed; single bad messages do not
        raise RuntimeError(f"{counts.systemic} ({counts})")
    return counts


def confirmations_job():
    from broadsheet.digests.send import send_confirmations

    problems: list[str] = []
    sent = send_confirmations(problems)
    if problems:
        raise RuntimeError("; ".join(problems))
    return sent


# How often the worker looks for confirmation emails that web requests queued: a reader who
# just subscribed waits for this one, so it is short, and the look is one indexed query.
CONFIRMATIONS_EVERY_SECONDS = 5


def confirmations_waiting() -> bool:
    from broadsheet.digests.send import confirmations_waiting

    return confirmations_waiting()


def channels_job():
    from broadsheet.channels.send import send_channels

    return send_channels()


def channel_tests_job():
    from broadsheet.channels.send import send_tests

    return send_tests()


def channel_tests_waiting() -> bool:
    from broadsheet.channels.send import tests_waiting

    return tests_waiting()


# Channels choose their own time of day (Channel.send_at); the worker looks this often.
CHANNELS_EVERY_MINUTES = 5


def digest_jobs() -> list[tuple[str, object, dict]]:
    """(name, function, cron fields) of the email and channel jobs: digests at
    BROADSHEET_DIGEST_SEND_AT, channels every CHANNELS_EVERY_MINUTES (each at its own time),
    confirmation emails and channel test messages within seconds of the request that queued
    them (the web only queues them; the job starts only when one is waiting: see `only_when`)."""
    hour, minute = settings.DIGEST_SEND_AT
    return [
        ("send-digests", digests_job, {"hour": hour, "minute": minute}),
        ("send-confirmations", confirmations_job, {"second": f"*/{CONFIRMATIONS_EVERY_SECONDS}"}),
        ("send-channels", channels_job, {"minute": f"*/{CHANNELS_EVERY_MINUTES}"}),
        # A member waits for their test message: looked for as often as confirmations.
        ("channel-tests", channel_tests_job, {"second": f"*/{CONFIRMATIONS_EVERY_SECONDS}"}),
    ]


# A job run often starts only when this says there is work, so that its log lines and its
# job record stay about runs that did something.
only_when = {
    "send-confirmations": confirmations_waiting,
    "channel-tests": channel_tests_waiting,
}


def thumbnails_job():
    from broadsheet.ingest.thumbnails import make_thumbnails

    return make_thumbnails()


def github_stars_job():
    from broadsheet.ingest.github import refresh_stars

    return refresh_stars()


def new_papers_job():
    """Vectors and keywords for papers that came in since (a member's submission, an
    import): nothing is loaded when there is nothing to do."""
    from broadsheet.search.indexing import count_missing, embed_missing
    from broadsheet.search.keywords import keyword_missing

    if count_missing():
        embed_missing()
    return keyword_missing()


def upkeep_jobs() -> list[tuple[str, object, dict]]:
    """(name, function, cron fields) of the jobs that keep papers complete: new papers'
    vectors and keywords, thumbnails (BROADSHEET_THUMBNAILS_PER_RUN) every 15 minutes, GitHub
    stars (BROADSHEET_GITHUB_STARS_PER_RUN) every hour."""
    jobs: list[tuple[str, object, dict]] = [("new-papers", new_papers_job, {"minute": "3/15"})]
    if settings.THUMBNAILS_PER_RUN:
        jobs.append(("thumbnails", thumbnails_job, {"minute": "*/15"}))
    if settings.GITHUB_STARS_PER_RUN:
        jobs.append(("github-stars", github_stars_job, {"minute": "37"}))
    return jobs
