"""Benchmark: what the feed pages' filter (categories, code, include/exclude keywords) costs.

    .venv/bin/python bench/filters.py [--papers 20000] [--days 30] [--repeat 5]
                                      [--engine sqlite|postgresql]

A fresh site with --papers papers listed over the last --days days (arXiv-like categories,
one in three with a code link, a few words that keywords pick out), all in the search index.
Each feed page (day, week, month, trending) is rendered through Django's test client as an
anonymous reader with the page cache off, without a filter and with each kind of filter, and
prints the median rendering time of --repeat renders, the SQL queries of one, and how many
papers the filter let through. The unfiltered page is the same-run baseline.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import tempfile
import time
from pathlib import Path

from sitelib import PostgreSQL, django_in_process

CATEGORIES = ["cs.CL", "cs.LG", "cs.CV", "stat.ML", "math.OC", "astro-ph.GA", "hep-th", "q-bio.NC"]
TOPICS = ["diffusion", "language model", "graph", "reinforcement", "survey", "galaxy", "protein"]
FILTERS = {
    "none": "",
    "cat=cs": "cat=cs",
    "cat=stat.ML,hep-th": "cat=stat.ML,hep-th",
    "code=1": "code=1",
    "include=diffusion": "include=diffusion",
    "exclude=survey": "exclude=survey",
    "all four": "cat=cs&code=1&include=diffusion,graph&exclude=survey",
}


def make_site(papers: int, days: int) -> dict[str, str]:
    from django.utils import timezone

    from broadsheet.papers.models import Listing, Paper
    from broadsheet.search.indexing import index_papers

    today = timezone.localdate()
    now = timezone.now()
    rows = []
    for i in range(papers):
        cats = [CATEGORIES[i % len(CATEGORIES)], CATEGORIES[(i * 3 + 1) % len(CATEGORIES)]]
        topic = TOPICS[i % len(TOPICS)]
        rows.append(
            Paper(
                slug=f"bench-{i}",
                arxiv_id=f"2601.{i:05d}",
                title=f"On {topic}, part {i}",
                abstract=f"We study {topic} with care. " * 6,
                primary_category=cats[0],
                categories=cats,
                github_repo=f"https://github.com/bench/p{i}" if i % 3 == 0 else "",
                source_upvotes=i % 97,
                published_at=now,
            )
        )
    Paper.objects.bulk_create(rows, batch_size=1000)
    ids = list(Paper.objects.order_by("pk").values_list("pk", flat=True))
    Listing.objects.bulk_create(
        [
            Listing(paper_id=pk, day=today - dt.timedelta(days=i % days), submitted_at=now)
            for i, pk in enumerate(ids)
        ],
        batch_size=1000,
    )
    index_papers(ids)
    iso = today.isocalendar()
    return {
        "day": f"/papers/date/{today}",
        "week": f"/papers/week/{iso.year}-W{iso.week:02d}",
        "month": f"/papers/month/{today:%Y-%m}",
        "trending": "/papers/trending?window=month",
    }


def measure(client, url: str, repeat: int) -> tuple[float, int, int]:
    import re

    from django.db import connection

    queries = []

    def counted(execute, sql, params, many, context):
        queries.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(counted):
        response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    count = re.search(rb'<p class="count muted">([0-9,]+) paper', response.content)
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        client.get(url)
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000, len(queries), int(count[1].replace(b",", b""))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--papers", type=int, default=20_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--engine", choices=["sqlite", "postgresql"], default="sqlite")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="broadsheet-filters-") as tmp:
        tmp = Path(tmp)
        tmp.chmod(0o755)  # the bundled PostgreSQL runs as another user
        pg = PostgreSQL(tmp / "pg") if args.engine == "postgresql" else None
        try:
            env = {"BROADSHEET_PAGE_CACHE_SECONDS": "0", "BROADSHEET_SEARCH_SEMANTIC": "false"}
            if pg:
                env["BROADSHEET_DATABASE_URL"] = pg.url
            django_in_process(tmp / "data", **env)
            from django.conf import settings
            from django.test import Client

            # Pages as the tests render them: static URLs without a collected manifest.
            static = "django.contrib.staticfiles.storage.StaticFilesStorage"
            settings.STORAGES = {**settings.STORAGES, "staticfiles": {"BACKEND": static}}
            settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]

            start = time.perf_counter()
            pages = make_site(args.papers, args.days)
            print(
                f"{args.engine}: {args.papers} papers listed over {args.days} days, "
                f"set up in {time.perf_counter() - start:.0f} s; median of {args.repeat} renders"
            )
            client = Client()
            print(
                f"{'page':9s} {'filter':20s} {'papers':>7s} {'queries':>7s} {'ms':>8s} {'x none':>7s}"
            )
            for name, path in pages.items():
                base = None
                for label, query in FILTERS.items():
                    sep = "&" if "?" in path else "?"
                    url = f"{path}{sep}{query}" if query else path
                    ms, queries, shown = measure(client, url, args.repeat)
                    base = base or ms
                    print(
                        f"{name:9s} {label:20s} {shown:7d} {queries:7d} {ms:8.1f} {ms / base:6.2f}x"
                    )
            print(f"load average {os.getloadavg()[0]:.1f}")
        finally:
            if pg:
                pg.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
