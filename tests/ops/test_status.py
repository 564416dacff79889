"""The admin status page: jobs, workers, search index, database, and sections apps add."""

from __future__ import annotations

import re

import pytest
from django.utils import timezone
from factories import make_paper, make_user

from broadsheet.lib import jobs, status
from broadsheet.ops import sections as core


def staff_client(client):
    client.force_login(make_user("admin", is_staff=True))
    return client


def test_status_page_shows_jobs_workers_search_and_database(client, db):
    make_paper("A paper")
    jobs.run_exclusive("ingest-arxiv", lambda: "3 new, 0 updated")
    jobs.claim("embed")
    jobs.beat(jobs.process_name("worker"), timezone.now())
    response = staff_client(client).get("/admin/status/")
    assert response.status_code == 200
    page = response.content.decode()
    for text in (
        "Readiness: ready",
        "ingest-arxiv",
        "ok; last finished",
        "3 new, 0 updated",
        "running since",  # the claimed embed job
        "worker@",
        "alive: last beat",
        "waiting to be embedded",
        "Database",
        "papers",
    ):
        assert text in page, text


def test_a_failed_job_shows_its_error(client, db):
    def job():
        raise RuntimeError("arXiv said <no>")

    try:
        jobs.run_exclusive("ingest-hf-daily", job)
    except RuntimeError:
        pass
    page = staff_client(client).get("/admin/status/").content.decode()
    assert "FAILED; last finished" in page
    assert "RuntimeError: arXiv said &lt;no&gt;" in page  # escaped


def test_apps_add_sections_and_a_broken_one_does_not_hide_the_rest(client, db, monkeypatch):
    monkeypatch.setattr(status, "_sections", dict(status._sections))
    status.register("Digests", lambda: [("unsent digests", 4)])

    def broken():
        raise ValueError("no table")

    status.register("Broken", broken)
    page = staff_client(client).get("/admin/status/").content.decode()
    assert "<h2>Digests</h2>" in page and "unsent digests" in page
    assert "This section failed: ValueError: no table" in page
    assert "<h2>Database</h2>" in page


def test_members_who_are_not_staff_cannot_see_it(client, db):
    client.force_login(make_user("bob"))
    response = client.get("/admin/status/")
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]
    assert client.logout() is None
    assert client.get("/admin/status/").status_code == 302


def test_core_sections_are_registered():
    assert {"Jobs", "Workers", "Search index", "Database"} <= set(status._sections)
    assert status._sections["Jobs"] is core.job_rows


def test_digests_section_counts_receivers_and_unsent_digests(client, db):
    from broadsheet.digests.models import DigestRun, Subscription

    now = timezone.now()
    sub = Subscription.objects.create(email="a@example.org", confirmed_at=now)
    Subscription.objects.create(email="b@example.org")  # not confirmed yet
    DigestRun.objects.create(subscription=sub, period="2026-11-27", status="pending")
    DigestRun.objects.create(subscription=sub, period="2026-11-26", status="sent", sent_at=now)
    page = staff_client(client).get("/admin/status/").content.decode()
    assert "<h2>Digests</h2>" in page
    page = page.replace("\n", "").replace("  ", "")
    for label, value in (
        ("subscriptions receiving digests", 1),
        ("waiting for confirmation", 1),
        ("unsent digests (pending or being sent)", 1),
        ("failed digests", 0),
    ):
        assert f"<th>{label}</th><td>{value}</td>" in page, label


def test_papers_waiting_for_the_lexical_index_are_counted(client, db):
    from django.db import connection

    from broadsheet.search.models import LexicalPending

    if connection.vendor != "sqlite":
        pytest.skip("SQLite mode's lexical index")
    for i in range(3):
        LexicalPending.objects.create(paper=make_paper(title=f"Pending {i}"))
    page = staff_client(client).get("/admin/status/").content.decode()
    assert re.search(r"waiting for the lexical index\s*</th>\s*<td[^>]*>\s*3\s*<", page)
