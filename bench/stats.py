"""Benchmark: the /stats aggregates on a busy SQLite site.

    .venv/bin/python bench/stats.py [--listings 50000] [--votes 500000]

Fills a fresh SQLite database with listings spread over a year (with categories and
submitters) and upvotes cast over the same year, then times `site_stats()` (GROUP BY in the
database, over the day and vote-time indexes) against a same-run baseline that fetches the
window's rows and counts them in Python, and prints their ratio.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import tempfile
import time
from collections import Counter
from pathlib import Path

from sitelib import django_in_process

ROOT = Path(__file__).resolve().parent.parent
CATS = "cs.LG cs.CL cs.CV cs.AI stat.ML cs.RO cs.IR math.OC cs.NE eess.IV".split()
LAST = dt.date(2026, 6, 23)


def setup(data_dir: Path) -> None:
    django_in_process(data_dir)


def fill(n_listings: int, n_votes: int, seed: int = 1) -> None:
    from django.contrib.auth import get_user_model
    from django.db import transaction

    from broadsheet.papers.models import Listing, Paper, Upvote

    rng = random.Random(seed)
    User = get_user_model()
    users = User.objects.bulk_create([User(username=f"m{i}") for i in range(2000)])
    with transaction.atomic():
        papers = Paper.objects.bulk_create(
            [
                Paper(slug=f"p{i}", title=f"Paper {i}", primary_category=rng.choice(CATS))
                for i in range(n_listings)
            ],
            batch_size=5000,
        )
        Listing.objects.bulk_create(
            [
                Listing(
                    paper=p,
                    day=LAST - dt.timedelta(days=rng.randrange(365)),
                    submitted_by=rng.choice(users[:300]),
                    submitted_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
                )
                for p in papers
            ],
            batch_size=5000,
        )
        seen: set[tuple[int, int]] = set()
        votes = []
        while len(votes) < n_votes:
            u, p = rng.randrange(len(users)), rng.randrange(len(papers))
            if (u, p) in seen:
                continue
            seen.add((u, p))
            at = dt.datetime.combine(LAST, dt.time(12), tzinfo=dt.UTC) - dt.timedelta(
                minutes=rng.randrange(365 * 24 * 60)
            )
            votes.append(Upvote(user=users[u], paper=papers[p], created=at))
        Upvote.objects.bulk_create(votes, batch_size=5000)


def in_python():
    """The baseline: fetch the window's rows and count them in Python."""
    from django.utils import timezone

    from broadsheet.papers.models import Listing, Upvote
    from broadsheet.papers.stats import DAYS

    first = LAST - dt.timedelta(days=DAYS - 1)
    rows = list(
        Listing.objects.visible()
        .filter(day__gte=first, day__lte=LAST)
        .values_list("day", "paper__primary_category", "submitted_by__username")
    )
    start = timezone.make_aware(dt.datetime.combine(first, dt.time.min))
    votes = Upvote.objects.filter(created__gte=start).values_list("created", flat=True)
    per_vote_day = Counter(timezone.localdate(t) for t in votes)
    return (
        Counter(r[0] for r in rows),
        per_vote_day,
        Counter(r[1] for r in rows).most_common(10),
        Counter(r[2] for r in rows if r[2]).most_common(10),
    )


def timed(fn, runs: int = 5) -> float:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listings", type=int, default=50_000)
    parser.add_argument("--votes", type=int, default=500_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        setup(Path(tmp))
        t = time.perf_counter()
        fill(args.listings, args.votes)
        print(
            f"filled {args.listings:,} listings and {args.votes:,} votes over a year"
            f" in {time.perf_counter() - t:.1f} s"
        )
        from broadsheet.papers.stats import site_stats

        stats = site_stats(today=LAST)
        assert stats.listings_total and stats.votes_total
        ours = timed(lambda: site_stats(today=LAST))
        base = timed(in_python)
        print(
            f"site_stats (GROUP BY in SQLite): median {ours * 1000:.1f} ms"
            f" ({stats.listings_total:,} listings, {stats.votes_total:,} votes in the window)"
        )
        print(f"baseline (rows counted in Python): median {base * 1000:.1f} ms")
        print(f"ratio ours/baseline: {ours / base:.2f}")


if __name__ == "__main__":
    main()
