"""GitHub stars: the worker asks GitHub's API (the replay server here) for the repositories
papers link to, politely, and the stars show on the paper page and in the HF-compatible API;
Hugging Face imports keep the stars and the thumbnail URL they carry."""

from __future__ import annotations

import datetime as dt
import json

import pytest
import time_machine
from django.test import Client
from django.utils import timezone
from factories import make_paper

from broadsheet.ingest import github, jobs
from broadsheet.ingest.http import PoliteClient
from broadsheet.ingest.models import GitHubRepo
from broadsheet.papers.models import Paper

from .conftest import Reply, fixture, ok

pytestmark = pytest.mark.django_db

JSON = "application/json; charset=utf-8"


@pytest.fixture
def api(settings, replay, monkeypatch):
    settings.GITHUB_API_URL = replay.url("")
    settings.GITHUB_TOKEN = ""
    settings.GITHUB_STARS_PER_RUN = 50
    monkeypatch.setattr(github, "_paused_until", 0.0)
    return replay


@pytest.fixture
def http(fake_clock) -> PoliteClient:
    return PoliteClient(min_interval=1.0, retries=0, clock=fake_clock, sleep=fake_clock.sleep)


def repo_reply(stars: int, etag: str = "", **headers: str) -> Reply:
    body = json.dumps({"full_name": "x", "stargazers_count": stars}).encode()
    return Reply(200, body, {"Content-Type": JSON, **({"ETag": etag} if etag else {}), **headers})


def test_repo_names_come_from_github_urls_only():
    assert github.repo_name("https://github.com/Ada-Lab/SparseLog") == "ada-lab/sparselog"
    assert github.repo_name("https://github.com/ada-lab/sparselog.git/") == "ada-lab/sparselog"
    assert github.repo_name("http://www.github.com/a/b/tree/main/src") == "a/b"
    assert github.repo_name("https://github.com/ada-lab") is None
    assert github.repo_name("https://gitlab.com/a/b") is None
    assert github.repo_name("https://github.com/a/..") is None


def test_stars_are_stored_on_every_paper_of_the_repository(api, http, settings):
    settings.GITHUB_TOKEN = "a-token"
    one = make_paper("One", github_repo="https://github.com/Ada-Lab/SparseLog")
    two = make_paper("Two", github_repo="https://github.com/ada-lab/sparselog/tree/main")
    gone = make_paper("Gone", github_repo="https://github.com/x/deleted", github_stars=5)
    make_paper("No code")
    api.script("/repos/ada-lab/sparselog", repo_reply(311, '"v1"'))
    api.script("/repos/x/deleted", Reply(404, b'{"message": "Not Found"}'))

    counts = github.refresh_stars(http=http)

    assert (counts.updated, counts.failed, counts.rate_limited) == (1, 1, False)
    assert sorted(r.path for r in api.requests) == ["/repos/ada-lab/sparselog", "/repos/x/deleted"]
    asked = api.requests[0].headers
    assert asked["Authorization"] == "Bearer a-token"
    assert asked["Accept"] == "application/vnd.github+json"
    assert "Broadsheet" in asked["User-Agent"]
    assert "If-None-Match" not in asked
    assert [Paper.objects.get(pk=p.pk).github_stars for p in (one, two, gone)] == [311, 311, None]
    assert GitHubRepo.objects.get(name="ada-lab/sparselog").etag == '"v1"'

    # The paper page and the HF-compatible API show them.
    page = Client().get(one.get_absolute_url()).content.decode()
    assert "★ 311" in page
    assert Client().get(f"/api/papers/{one.ref}").json()["githubStars"] == 311


def test_a_repository_is_asked_again_after_a_day_with_its_etag(api, http):
    paper = make_paper("One", github_repo="https://github.com/ada-lab/sparselog")
    api.script("/repos/ada-lab/sparselog", repo_reply(311, '"v1"'))
    github.refresh_stars(http=http)

    assert github.refresh_stars(http=http).unchanged == 0  # not due the same day
    assert len(api.requests) == 1

    api.script("/repos/ada-lab/sparselog", Reply(304, b"", {"ETag": '"v1"'}))
    with time_machine.travel(timezone.now() + dt.timedelta(days=1, minutes=1)):
        counts = github.refresh_stars(http=http)
    assert counts.unchanged == 1
    assert api.requests[-1].headers["If-None-Match"] == '"v1"'
    paper.refresh_from_db()
    assert paper.github_stars == 311

    api.script("/repos/ada-lab/sparselog", repo_reply(400, '"v2"'))
    with time_machine.travel(timezone.now() + dt.timedelta(days=3)):
        assert github.refresh_stars(http=http).updated == 1
    paper.refresh_from_db()
    assert paper.github_stars == 400


def test_the_rate_limit_stops_the_run_until_github_says(api, http):
    for name in ("a", "b", "c"):
        make_paper(name, github_repo=f"https://github.com/org/{name}")
    reset = int(timezone.now().timestamp()) + 3600
    for name in ("a", "b", "c"):
        api.script(
            f"/repos/org/{name}",
            Reply(403, b"{}", {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(reset)}),
        )

    counts = github.refresh_stars(http=http)

    assert counts.rate_limited and counts.failed == 0
    assert len(api.requests) == 1  # stopped at the first refusal
    assert github.refresh_stars(http=http).rate_limited
    assert len(api.requests) == 1  # and asks nothing before the reset
    assert set(GitHubRepo.objects.values_list("checked_at", flat=True)) == {None}


def test_a_run_asks_at_most_its_batch(api, http, settings):
    settings.GITHUB_STARS_PER_RUN = 2
    for name in ("a", "b", "c"):
        make_paper(name, github_repo=f"https://github.com/org/{name}")
        api.script(f"/repos/org/{name}", repo_reply(1))

    assert github.refresh_stars(http=http).updated == 2
    assert github.refresh_stars(http=http).updated == 1
    assert github.refresh_stars(http=http).updated == 0
    assert len(api.requests) == 3


def test_hugging_face_imports_keep_their_stars_and_thumbnail(sources, polite, settings):
    sources.script("/api/daily_papers", ok(fixture("hf_daily_p0.json"), JSON), query={"p": 0})

    jobs.ingest_hf_daily({"date": "2024-01-04"}, client=polite)

    paper = Paper.objects.get(arxiv_id="2401.01234")
    assert paper.github_stars == 311
    thumb = "https://cdn-thumbnails.huggingface.co/social-thumbnails/papers/2401.01234.png"
    assert paper.thumbnail == thumb
    assert paper.thumbnail_src == ""  # not shown until the worker stored it here

    # Once the worker has stored it, a new import keeps ours.
    Paper.objects.filter(pk=paper.pk).update(thumbnail=f"/thumbnails/{paper.pk}.webp")
    sources.script("/api/daily_papers", ok(fixture("hf_daily_p0.json"), JSON), query={"p": 0})
    jobs.ingest_hf_daily({"date": "2024-01-04"}, client=polite)
    paper.refresh_from_db()
    assert paper.thumbnail == f"/thumbnails/{paper.pk}.webp"


def test_an_imported_thumbnail_must_be_a_web_url_and_stars_not_negative():
    from broadsheet.ingest.jsonl_lines import record_from_json
    from broadsheet.ingest.records import Rejected, validate

    good = record_from_json(
        {"arxiv_id": "2601.00001", "title": "T", "thumbnail": "https://x.org/a.png",
         "github_stars": 3},
        "line 1",
    )  # fmt: skip
    assert (validate(good).thumbnail, good.github_stars) == ("https://x.org/a.png", 3)
    for bad in ({"thumbnail": "javascript:alert(1)"}, {"github_stars": -1}):
        record = record_from_json({"arxiv_id": "2601.00002", "title": "T", **bad}, "line 2")
        with pytest.raises(Rejected):
            validate(record)
