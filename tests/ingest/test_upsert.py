"""The shared upsert: papers stored by external id, updated in place, counted."""

from __future__ import annotations

import datetime as dt
import logging

import pytest
from django.db import connection
from factories import list_paper, make_comment, make_paper, upvote

from broadsheet.ingest.records import PaperRecord, Rejected
from broadsheet.ingest.upsert import upsert
from broadsheet.papers.models import Author, Authorship, Comment, Listing, Paper, Upvote

pytestmark = pytest.mark.django_db

PUBLISHED = dt.datetime(2024, 1, 2, 17, 5, tzinfo=dt.UTC)


def rec(arxiv_id: str = "2401.01234", version: int | None = 1, **fields) -> PaperRecord:
    fields.setdefault("title", f"Paper {arxiv_id}")
    fields.setdefault("abstract", f"About {arxiv_id}.")
    fields.setdefault("authors", ["Ada Lovelace", "Alan Turing"])
    fields.setdefault("categories", ["cs.LG"])
    fields.setdefault("published_at", PUBLISHED)
    return PaperRecord(arxiv_id=arxiv_id, arxiv_version=version, **fields)


def author_names(paper: Paper) -> list[str]:
    return list(
        Authorship.objects.filter(paper=paper)
        .order_by("position")
        .values_list("author__name", flat=True)
    )


def counts_of(counts) -> tuple[int, int, int, int]:
    return counts.new, counts.updated, counts.unchanged, counts.rejected


def test_new_records_are_stored_with_authors_in_order():
    counts = upsert([rec("2401.01234", 2, authors=["Grace Hopper", "Ada Lovelace", "Alan Turing"],
                         doi="10.1162/neco_a_01234", primary_category="cs.LG",
                         categories=["cs.LG", "stat.ML"]),
                     rec("hep-th/9901001", 1)])  # fmt: skip

    assert counts_of(counts) == (2, 0, 0, 0)
    paper = Paper.objects.get(arxiv_id="2401.01234")
    assert paper.arxiv_version == 2
    assert paper.slug == "arxiv-2401-01234"
    assert paper.doi == "10.1162/neco_a_01234"
    assert paper.categories == ["cs.LG", "stat.ML"]
    assert paper.primary_category == "cs.LG"
    assert paper.published_at == PUBLISHED
    assert paper.author_count == 3
    assert paper.abs_url == "https://arxiv.org/abs/2401.01234"
    assert author_names(paper) == ["Grace Hopper", "Ada Lovelace", "Alan Turing"]
    assert Paper.objects.get(arxiv_id="hep-th/9901001").slug == "arxiv-hep-th-9901001"
    # Authors shared between papers are one row each.
    assert Author.objects.filter(name="Ada Lovelace").count() == 1


def test_a_newer_version_updates_the_paper_in_place_and_keeps_votes_listings_and_comments(member):
    upsert([rec("2401.01234", 1, title="A first draft")])
    paper = Paper.objects.get(arxiv_id="2401.01234")
    upvote(member, paper)
    listing = list_paper(paper, dt.date(2024, 1, 3))
    comment = make_comment(paper, member, "Nice.")

    counts = upsert([rec("2401.01234", 2, title="The final title", abstract="Rewritten.",
                         authors=["Alan Turing", "Ada Lovelace", "Grace Hopper"])])  # fmt: skip

    assert counts_of(counts) == (0, 1, 0, 0)
    assert Paper.objects.count() == 1
    paper = Paper.objects.get(arxiv_id="2401.01234")
    assert (paper.title, paper.abstract, paper.arxiv_version) == (
        "The final title",
        "Rewritten.",
        2,
    )
    assert author_names(paper) == ["Alan Turing", "Ada Lovelace", "Grace Hopper"]
    assert paper.upvote_count == 1
    assert Upvote.objects.filter(paper=paper, user=member).exists()
    assert Listing.objects.get(pk=listing.pk).paper_id == paper.pk
    assert Comment.objects.get(pk=comment.pk).paper_id == paper.pk


def test_an_older_version_changes_nothing():
    upsert([rec("2401.01234", 3, title="Version three", authors=["Ada Lovelace"])])
    before = Paper.objects.get(arxiv_id="2401.01234")

    counts = upsert([rec("2401.01234", 2, title="Version two", authors=["Someone Else"])])

    assert counts_of(counts) == (0, 0, 1, 0)
    after = Paper.objects.get(arxiv_id="2401.01234")
    assert (after.title, after.arxiv_version, after.modified) == (
        "Version three",
        3,
        before.modified,
    )
    assert author_names(after) == ["Ada Lovelace"]


def test_running_the_same_records_again_counts_everything_unchanged():
    records = lambda: [rec("2401.01234", 2), rec("2401.05678", 1), rec("hep-th/9901001", 1)]  # noqa: E731
    upsert(records())
    modified = dict(Paper.objects.values_list("arxiv_id", "modified"))

    counts = upsert(records())

    assert counts_of(counts) == (0, 0, 3, 0)
    assert dict(Paper.objects.values_list("arxiv_id", "modified")) == modified
    assert Authorship.objects.count() == 6


def test_counts_of_new_updated_unchanged_and_rejected(caplog):
    upsert([rec("2401.00001", 1), rec("2401.00002", 1)])

    with caplog.at_level(logging.WARNING, logger="broadsheet.ingest"):
        counts = upsert(
            [
                rec("2401.00001", 1),  # unchanged
                rec("2401.00002", 2, title="Revised"),  # updated
                rec("2401.00003", 1),  # new
                rec("not-an-id", 1, origin="line 4"),  # rejected by validation
                Rejected("line 5: invalid JSON (Expecting value at column 1)"),  # by the reader
                rec("2401.00004", 1, title="x" * 1001, origin="line 6"),  # rejected: too long
                rec("2401.00005", 1),  # new: the batch went on
            ],
            batch_size=2,
        )

    assert counts_of(counts) == (2, 1, 1, 3)
    assert str(counts) == "2 new, 1 updated, 1 unchanged, 3 rejected, 0 newly listed"
    assert counts.reasons == [
        "line 4: not-an-id: invalid arXiv id 'not-an-id'",
        "line 5: invalid JSON (Expecting value at column 1)",
        "line 6: 2401.00004: title longer than 1000 characters",
    ]
    assert [r.getMessage() for r in caplog.records] == [f"rejected: {r}" for r in counts.reasons]
    assert Paper.objects.count() == 4


def test_a_record_clashing_with_a_stored_doi_is_rejected_and_the_batch_goes_on():
    make_paper("Published elsewhere", doi="10.1000/taken")

    counts = upsert(
        [rec("2401.00001", 1), rec("2401.00002", 1, doi="10.1000/taken"), rec("2401.00003", 1)]
    )

    assert counts_of(counts) == (2, 0, 0, 1)
    assert counts.reasons == ["2401.00002: clashes with a stored paper (slug or DOI)"]
    assert set(Paper.objects.values_list("arxiv_id", flat=True)) == {
        None, "2401.00001", "2401.00003"
    }  # fmt: skip
    assert Authorship.objects.filter(paper__arxiv_id="2401.00003").count() == 2


def test_the_last_record_for_an_id_in_a_batch_wins():
    counts = upsert([rec("2401.00001", 1, title="First"), rec("2401.00001", 2, title="Second")])

    assert counts.new == 1
    assert Paper.objects.get().title == "Second"


def test_a_record_without_a_doi_keeps_the_doi_we_know():
    upsert([rec("2401.00001", 1, doi="10.1000/known")])

    upsert([rec("2401.00001", 2, title="Revised")])

    assert Paper.objects.get().doi == "10.1000/known"


def test_a_deleted_record_hides_the_paper_and_stores_nothing_new(member):
    upsert([rec("2401.00001", 1)])
    upvote(member, Paper.objects.get())

    counts = upsert([
        PaperRecord(arxiv_id="2401.00001", title="", deleted=True),
        PaperRecord(arxiv_id="2401.09999", title="", deleted=True),
    ])  # fmt: skip

    assert Paper.objects.count() == 1
    paper = Paper.objects.get()
    assert paper.hidden is True
    assert paper.upvote_count == 1
    assert counts_of(counts) == (0, 1, 1, 0)


def test_papers_without_an_arxiv_id_are_matched_by_doi_or_slug():
    upsert([
        PaperRecord(title="Only a DOI", doi="10.1000/only-doi"),
        PaperRecord(title="Only a slug", slug="only-a-slug"),
    ])  # fmt: skip

    counts = upsert([
        PaperRecord(title="Only a DOI, revised", doi="10.1000/only-doi"),
        PaperRecord(title="Only a slug", slug="only-a-slug"),
    ])  # fmt: skip

    assert counts_of(counts) == (0, 1, 1, 0)
    assert Paper.objects.get(doi="10.1000/only-doi").slug == "only-a-doi"
    assert Paper.objects.get(slug="only-a-slug").title == "Only a slug"


@pytest.mark.django_db(transaction=True)
def test_an_author_deleted_between_batches_is_stored_again_not_referenced():
    # Batches really commit here: on SQLite an import does not check foreign keys, so the
    # author ids it caches across batches are checked again by each batch.
    def records():
        yield rec("2401.00001", authors=["Ada Lovelace"])
        Author.objects.filter(name="Ada Lovelace").delete()  # an admin, between two batches
        yield rec("2401.00002", authors=["Ada Lovelace", "Alan Turing"])

    counts = upsert(records(), batch_size=1)

    assert counts_of(counts) == (2, 0, 0, 0)
    second = Paper.objects.get(arxiv_id="2401.00002")
    assert author_names(second) == ["Ada Lovelace", "Alan Turing"]
    assert Author.objects.filter(name="Ada Lovelace").count() == 1
    orphans = Authorship.objects.exclude(author_id__in=Author.objects.values("id"))
    assert not orphans.exists()
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA foreign_keys")
            assert cursor.fetchone()[0] == 1  # checks are back on after the import
            cursor.execute("PRAGMA foreign_key_check")
            assert cursor.fetchall() == []


def test_search_documents_made_from_a_batch_match_the_stored_papers():
    # An import hands the search documents what it stored rather than have them read back:
    # they must be what reading back would give (authors in order, text hash).
    from broadsheet.search.backends import get_backend
    from broadsheet.search.backends.base import text_hash
    from broadsheet.search.models import SearchDocument

    upsert([rec("2401.00001"), rec("2401.00002", authors=["Grace Hopper"])])
    upsert([
        rec("2401.00001", version=2, abstract="Revised.", authors=["Alan Turing", "Ada Lovelace"]),
        rec("2401.00002", version=2, title="Renamed", authors=[]),  # keeps its authors
        rec("2401.00003", authors=[]),
    ])  # fmt: skip

    papers = Paper.objects.order_by("pk")
    stored = get_backend()._stored_texts([p.pk for p in papers])
    assert len(stored) == 3
    for pid, title, abstract, authors in stored:
        doc = SearchDocument.objects.get(paper_id=pid)
        assert (doc.authors, doc.text_hash) == (", ".join(authors), text_hash(title, abstract))
    assert SearchDocument.objects.get(paper__arxiv_id="2401.00001").authors == (
        "Alan Turing, Ada Lovelace"
    )
    assert SearchDocument.objects.get(paper__arxiv_id="2401.00002").authors == "Grace Hopper"
