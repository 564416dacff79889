"""The sample data: 34 real papers from the package's seed file, listed over the last days
ending today (or on the page's own day, 2026-06-23, with --day), and the arXiv set: real
abstracts that search finds, with the vectors and keywords shipped beside them."""

from __future__ import annotations

import datetime as dt
import io
import json
import threading
from pathlib import Path

import numpy as np
import pytest
import time_machine
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

import broadsheet.papers
from broadsheet.ops.sample import SAMPLE_DAY, SAMPLE_DAYS, arxiv_rows, sample_records
from broadsheet.papers.models import Author, Authorship, Listing, Paper

SEED_FILE = Path(broadsheet.papers.__file__).parent / "data" / "seed-papers.json"


def seed() -> list[dict]:
    return json.loads(SEED_FILE.read_text(encoding="utf-8"))["papers"]


def collapse(text: str) -> str:
    return " ".join(text.split())


def load_sample(*args: str) -> str:
    """The listing alone, on the page's own day (unless `args` say otherwise)."""
    out = io.StringIO()
    call_command("load-sample", *(args or ("--day", str(SAMPLE_DAY), "--no-arxiv")), stdout=out)
    return out.getvalue()


def sample_papers() -> dict[str, Paper]:
    return {p.title: p for p in Paper.objects.all()}


def test_sample_records_come_from_the_package_data(tmp_path, monkeypatch):
    # Run from a directory with no ../shared or data/ next to it: the file ships in the package.
    monkeypatch.chdir(tmp_path)

    records = sample_records()

    assert len(records) == 34
    assert records == seed()


@pytest.mark.django_db
def test_load_sample_lists_34_papers_on_the_sample_day():
    assert SAMPLE_DAY == dt.date(2026, 6, 23)

    output = load_sample()

    assert "34 papers added, 0 already present" in output
    assert Paper.objects.count() == 34
    listings = Listing.objects.all()
    assert listings.count() == 34
    assert {(listing.day, listing.source) for listing in listings} == {
        (SAMPLE_DAY, Listing.Source.SAMPLE)
    }
    # Consistent with the day of the listing's own time, in the site's time zone.
    assert {Listing.day_of(listing.submitted_at) for listing in listings} == {SAMPLE_DAY}
    assert Listing.objects.listed_on(SAMPLE_DAY).count() == 34


@pytest.mark.django_db
def test_sample_papers_keep_the_seed_files_fields():
    load_sample()
    papers = sample_papers()

    for rec in seed():
        paper = papers[collapse(rec["title"])]
        assert paper.abstract == collapse(rec["abstract"])
        assert paper.published_at.astimezone(dt.UTC).date() == dt.date.fromisoformat(
            rec["published_on"]
        )
        assert paper.source_upvotes == rec["upvotes"]
        assert paper.upvote_count == 0
        assert paper.votes == rec["upvotes"]
        assert paper.author_count == rec["authors_count"]
        assert paper.arxiv_id is None
        assert not paper.hidden


@pytest.mark.django_db
def test_sample_links_go_to_github_repo_or_project_page():
    load_sample()
    papers = sample_papers()

    checked_github = checked_project = 0
    for rec in seed():
        paper = papers[collapse(rec["title"])]
        github = [url for url in rec["links"] if url.startswith("https://github.com/")]
        other = [url for url in rec["links"] if not url.startswith("https://github.com/")]
        assert paper.github_repo == (github[0] if github else "")
        assert paper.project_url == (other[0] if other else "")
        checked_github += bool(github)
        checked_project += bool(other)

    # The seed file really exercises both kinds of link.
    assert checked_github >= 1
    assert checked_project >= 1


@pytest.mark.django_db
def test_sample_keeps_the_number_of_authors_without_inventing_names():
    load_sample()

    assert Author.objects.count() == 0
    assert Authorship.objects.count() == 0
    assert sorted(Paper.objects.values_list("author_count", flat=True)) == sorted(
        rec["authors_count"] for rec in seed()
    )


@pytest.mark.django_db
def test_sample_listing_keeps_the_files_order_among_equal_votes():
    load_sample()

    newest_first = Listing.objects.order_by("-submitted_at").values_list("paper__title", flat=True)
    assert list(newest_first) == [collapse(rec["title"]) for rec in seed()]


@pytest.mark.django_db
def test_loading_the_sample_twice_changes_nothing():
    with time_machine.travel(dt.datetime(2026, 6, 23, 9, 30, tzinfo=dt.UTC), tick=False):
        load_sample()
    papers_before = list(Paper.objects.order_by("id").values())
    listings_before = list(Listing.objects.order_by("id").values())

    # A day later, so any save would show in `modified`.
    with time_machine.travel(dt.datetime(2026, 6, 24, 9, 30, tzinfo=dt.UTC), tick=False):
        output = load_sample()

    assert "0 papers added, 34 already present" in output
    assert list(Paper.objects.order_by("id").values()) == papers_before
    assert list(Listing.objects.order_by("id").values()) == listings_before
    assert Author.objects.count() == 0


@pytest.mark.django_db
def test_loading_the_sample_keeps_members_votes(member):
    from broadsheet.papers.votes import add_upvote

    load_sample()
    paper = Paper.objects.get(source_upvotes=1)
    add_upvote(member, paper)

    load_sample()

    paper.refresh_from_db()
    assert paper.upvote_count == 1
    assert paper.source_upvotes == 1
    assert paper.votes == 2


@pytest.mark.django_db
def test_load_sample_if_empty_leaves_a_database_with_papers_alone():
    Paper.objects.create(slug="mine", title="A paper of our own")
    out = io.StringIO()

    call_command("load-sample", "--if-empty", stdout=out)

    assert Paper.objects.count() == 1
    assert Listing.objects.count() == 0
    assert "not loaded" in out.getvalue()


@pytest.mark.django_db(transaction=True)
def test_loading_the_sample_twice_at_once_lists_each_paper_once():
    barrier = threading.Barrier(2)
    outputs: list[str] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            barrier.wait(timeout=10)
            outputs.append(load_sample())
        except BaseException as e:  # reported in the test's thread below
            errors.append(e)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)

    assert not any(t.is_alive() for t in threads), "a load hung"
    assert not errors, errors
    assert sorted("34 papers added" in out for out in outputs) == [False, True]
    assert Paper.objects.count() == 34
    assert Listing.objects.count() == 34


@pytest.mark.django_db
@pytest.mark.parametrize("clock", ["15:00", "00:00:05"])
def test_load_sample_lists_the_papers_over_the_last_days_ending_today(client, settings, clock):
    hour, minute, *second = (int(x) for x in clock.split(":"))
    local = dt.datetime(2027, 3, 10, hour, minute, *second)
    now = timezone.make_aware(local)
    with time_machine.travel(now, tick=False):
        output = load_sample("--no-arxiv")
        response = client.get("/")

    assert "34 papers added, 0 already present" in output
    today = dt.date(2027, 3, 10)
    listings = list(Listing.objects.select_related("paper").order_by("-submitted_at"))
    # Newest first is the file's order: its first papers today, then a day back, and so on.
    assert [li.paper.title for li in listings] == [collapse(rec["title"]) for rec in seed()]
    days = [li.day for li in listings]
    assert days == sorted(days, reverse=True)
    assert sorted(set(days)) == [today - dt.timedelta(days=n) for n in range(SAMPLE_DAYS)][::-1]
    assert all(Listing.day_of(li.submitted_at) == li.day for li in listings)
    assert all(li.submitted_at <= now for li in listings)
    assert {li.source for li in listings} == {Listing.Source.SAMPLE}
    # Today's page (the home page) shows the first of them.
    assert response.context["day"] == today
    assert "Causal de Finetti" in response.content.decode()


@pytest.mark.django_db
def test_load_sample_brings_in_the_arxiv_set_searchable_with_its_vectors():
    from broadsheet.search import search
    from broadsheet.search.backends import get_backend
    from broadsheet.search.embedder import embed_texts, paper_text
    from broadsheet.search.indexing import count_missing

    output = load_sample("--day", str(SAMPLE_DAY))

    rows = arxiv_rows()
    distinct = {(r.title, r.abstract) for r in rows}
    assert (len(rows), len(distinct)) == (1000, 993)  # the file repeats 7 rows
    assert "arXiv set (searchable, not listed): 993 papers added, 0 already present." in output
    assert Listing.objects.count() == 34
    assert Paper.objects.count() == 34 + 993
    assert Paper.objects.filter(listing__isnull=True).count() == 993
    first = Paper.objects.get(title=rows[0].title)
    assert first.categories == rows[0].categories == ["cs.CV", "cs.LG", "eess.IV"]
    assert first.primary_category == "cs.CV"
    assert first.abstract == rows[0].abstract and first.ai_keywords

    # Found by a word of its own (not in the sample listing).
    assert "fingerprint" in rows[2].title.lower()
    hits = search("fingerprint").hits
    assert rows[2].title in [hit.paper.title for hit in hits]

    # The shipped vectors are what the site's embedder makes (arXiv set and listing).
    some = [(r.title, r.abstract) for r in (rows[0], rows[2], rows[500], rows[999])]
    some.append((collapse(seed()[5]["title"]), collapse(seed()[5]["abstract"])))
    fresh = embed_texts([paper_text(title, abstract) for title, abstract in some])
    backend = get_backend()
    for (title, abstract), vector in zip(some, fresh, strict=True):
        stored = backend.vector_of(Paper.objects.get(title=title, abstract=abstract).pk)
        cosine = float(stored @ vector / (np.linalg.norm(stored) * np.linalg.norm(vector)))
        assert cosine > 0.99, (title, cosine)
    # Nothing is left for `broadsheet embed` and `broadsheet keywords`.
    assert count_missing() == 0
    assert not Paper.objects.filter(ai_keywords__isnull=True).exists()
    assert "from the package: 1027 of the 1027 papers added" in output

    again = load_sample("--day", str(SAMPLE_DAY))
    assert "0 papers added, 993 already present" in again
    assert Paper.objects.count() == 34 + 993


@pytest.mark.django_db
def test_a_site_with_another_model_embeds_the_arxiv_set_itself(monkeypatch):
    from broadsheet.search.indexing import count_missing

    monkeypatch.setattr("broadsheet.search.embedder.model_name", lambda: "another model")

    output = load_sample("--day", str(SAMPLE_DAY))

    assert "993 papers added, 0 already present." in output
    assert "from the package: 0 of the 1027 papers added" in output
    assert "Sample listing: 34 papers added" in output
    assert count_missing() == 34 + 993
    assert Paper.objects.filter(ai_keywords__isnull=True).count() == 34 + 993
