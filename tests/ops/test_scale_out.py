"""Two web servers and a worker on one PostgreSQL: what one does, the other sees at once.

Runs on the postgresql backend only (CI runs both): the servers are real `broadsheet serve`
processes on their own ports, against the test database.
"""

from __future__ import annotations

import json
import re
import threading
import time
import urllib.request

import pytest
from django.db import connection, connections
from django.utils import timezone
from factories import list_paper, make_paper, make_user

from broadsheet.api.tokens import create_token
from broadsheet.lib import jobs

from .conftest import child_env, run_broadsheet


def database_url() -> str:
    db = connection.settings_dict
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


@pytest.fixture
def site(transactional_db, tmp_path):
    if connection.vendor != "postgresql":
        pytest.skip("scale-out is a PostgreSQL deployment (runs on the postgresql backend)")
    ada = make_user("ada")
    listed = make_paper("Listed paper", arxiv_id="2601.00001")
    list_paper(listed, timezone.localdate())
    fresh = make_paper("Fresh unlisted paper", arxiv_id="2601.00002", published_at=timezone.now())
    token = create_token(ada, "laptop", "write")[1]
    yield {"listed": listed, "fresh": fresh, "token": token}
    with connection.cursor() as cursor:  # the search change log is not a model: not flushed
        cursor.execute("TRUNCATE search_outbox, search_node, search_outbox_floor")


def server_env(tmp_path, name: str, **overrides: str) -> dict[str, str]:
    return child_env(
        tmp_path / name,
        **overrides,
        BROADSHEET_DATABASE_URL=database_url(),
        BROADSHEET_SEARCH_SEMANTIC="false",  # words are enough here; no model per server
        BROADSHEET_API_RATE_LIMIT_TOKEN="100000",
        BROADSHEET_API_RATE_LIMIT_ANONYMOUS="100000",
        BROADSHEET_PAGE_CACHE_CHECK_SECONDS="0.2",  # the bound on a stale page; less waiting
    )


def anonymous_votes(server, path: str) -> tuple[str, int]:
    """How an anonymous reader's page was served (X-Page-Cache) and the vote count it shows."""
    with urllib.request.urlopen(server.url + path, timeout=30) as response:
        how, html = response.headers["X-Page-Cache"], response.read().decode()
    return how, int(re.search(r'class="vote-count">([0-9]+)<', html).group(1))


def test_two_web_servers_share_votes_submissions_and_new_papers(site, tmp_path, start_server):
    # Each serves search from its own indexes (the default engine), kept in step with the
    # database by the search follower `serve` starts.
    a = start_server(server_env(tmp_path, "web-a"), "--workers", "1", "--threads", "2")
    b = start_server(server_env(tmp_path, "web-b"), "--workers", "1", "--threads", "2")
    a.wait_ready()
    b.wait_ready()
    token = site["token"]

    # Anonymous readers get the paper's page from each server's page cache.
    page = "/papers/2601.00001"
    for server in (a, b):
        assert anonymous_votes(server, page) == ("miss", 0)
        assert anonymous_votes(server, page) == ("hit", 0)

    # A vote through A is counted through B, and its cached page shows it within the bound
    # (BROADSHEET_PAGE_CACHE_CHECK_SECONDS plus one rendering; polled here).
    status, vote = a.request("POST", "/api/v1/papers/2601.00001/upvote", {}, token)
    assert (status, vote) == (200, {"upvoted": True, "votes": 1})
    status, paper = b.request("GET", "/api/v1/papers/2601.00001")
    assert status == 200 and paper["memberUpvotes"] == 1
    for server in (b, a):
        deadline = time.monotonic() + 30
        served = [anonymous_votes(server, page)]
        while served[-1][1] != 1 and time.monotonic() < deadline:
            time.sleep(0.05)
            served.append(anonymous_votes(server, page))
        assert anonymous_votes(server, page) == ("hit", 1)
        # The page renderer `serve` runs rendered it: no reader's request did.
        assert ("miss", 1) not in served, served

    # A submission through A is on today's feed through B (JSON and the HTML page).
    status, listing = a.request("POST", "/api/v1/submissions", {"arxivId": "2601.00002"}, token)
    assert status == 201, listing
    status, page = b.request("GET", f"/api/v1/listings?date={timezone.localdate()}")
    assert status == 200
    assert {item["paper"]["id"] for item in page["items"]} == {"2601.00001", "2601.00002"}
    status, html = b.request("GET", "/")
    assert status == 200 and "Fresh unlisted paper" in html

    # A paper ingested by the worker's host is found through both servers at once.
    record = {
        "arxiv_id": "2601.00003",
        "title": "Zymurgical transformers for brewing",
        "abstract": "We brew.",
        "authors": ["Ada Lovelace"],
        "published_at": "2026-01-02T00:00:00+00:00",
    }
    (tmp_path / "new.jsonl").write_text(json.dumps(record) + "\n")
    worker_env = server_env(tmp_path, "worker")
    run_broadsheet(["ingest", "jsonl", str(tmp_path / "new.jsonl")], worker_env)

    def found_on(server) -> list[str]:
        status, found = server.request("GET", "/api/v1/search?q=zymurgical")
        assert status == 200
        return [item["paper"]["id"] for item in found["items"]]

    for server in (a, b):  # once its follower has replayed the change log (bench: < 0.5 s)
        deadline = time.monotonic() + 60
        while found_on(server) != ["2601.00003"]:
            assert time.monotonic() < deadline, f"{server.url}: search never found the paper"
            time.sleep(0.1)


def _race(n: int, body) -> list:
    """Run `body` in n threads released at the same instant, each on its own connection."""
    barrier = threading.Barrier(n)
    results: list = [None] * n

    def run(i: int) -> None:
        try:
            barrier.wait()
            results[i] = body()
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_a_job_started_by_four_workers_at_once_runs_once(transactional_db):
    for attempt in range(5):
        name = f"race-{attempt}"
        running, overlap = [], []

        def job(running=running, overlap=overlap):
            running.append(1)
            overlap.append(len(running))
            time.sleep(0.3)  # long enough that every other worker tries while it runs
            running.pop()
            return "done"

        def worker(name=name, job=job):
            try:
                return jobs.run_exclusive(name, job)
            except jobs.AlreadyRunning:
                return "skipped"

        assert sorted(_race(4, worker)) == ["done", "skipped", "skipped", "skipped"]
        assert overlap == [1]
        assert jobs.JobRun.objects.get(name=name).running_since is None


def test_only_one_of_two_simultaneous_claims_wins(transactional_db):
    for attempt in range(20):
        name = f"claim-{attempt}"
        jobs.JobRun.objects.create(name=name)
        assert sorted(_race(2, lambda name=name: jobs.claim(name))) == [False, True]
