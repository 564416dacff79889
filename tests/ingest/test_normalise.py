"""Normalisation: what every source's records look like once they reach the upsert."""

from __future__ import annotations

import datetime as dt

import pytest

from broadsheet.ingest import arxiv_api, arxiv_oai, hf_daily
from broadsheet.ingest.normalise import clean_text, find_links, normalise_arxiv_id
from broadsheet.ingest.records import PaperRecord, Rejected, validate

from .conftest import fixture


def arxiv_records(name: str) -> dict[str, PaperRecord]:
    records = [validate(r) for r in arxiv_api.parse_feed(fixture(name)).records]
    return {r.arxiv_id: r for r in records}


def oai_records(name: str) -> dict[str, PaperRecord]:
    records = [validate(r) for r in arxiv_oai.parse_page(fixture(name)).records]
    return {r.arxiv_id: r for r in records}


# Ids ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        ("2401.01234", ("2401.01234", None)),
        ("2401.01234v2", ("2401.01234", 2)),
        ("0704.0001v1", ("0704.0001", 1)),
        ("arXiv:2401.01234v3", ("2401.01234", 3)),
        ("hep-th/9901001v1", ("hep-th/9901001", 1)),
        ("hep-th/9901001", ("hep-th/9901001", None)),
        ("math.GT/0309136v2", ("math.GT/0309136", 2)),
        ("https://arxiv.org/abs/2401.01234v2", ("2401.01234", 2)),
        ("http://export.arxiv.org/abs/hep-th/9901001v1", ("hep-th/9901001", 1)),
        ("https://arxiv.org/pdf/2401.01234v2.pdf", ("2401.01234", 2)),
        ("  2401.01234  ", ("2401.01234", None)),
    ],
)
def test_arxiv_ids_lose_their_version_which_is_kept_apart(text, expected):
    assert normalise_arxiv_id(text) == expected


@pytest.mark.parametrize(
    "text", ["", "2401", "2401.123", "24010.1234", "hep-th/99", "doi:10.1/x", "x" * 300]
)
def test_things_that_are_not_arxiv_ids_are_refused(text):
    assert normalise_arxiv_id(text) == (None, None)


def test_atom_entries_in_both_id_styles_are_stored_versionless_with_their_version():
    records = arxiv_records("arxiv_page1.xml")

    assert set(records) == {"2401.01234", "hep-th/9901001"}
    assert records["2401.01234"].arxiv_version == 2
    assert records["hep-th/9901001"].arxiv_version == 1


# Text ---------------------------------------------------------------------------------------


def test_clean_text_collapses_whitespace_and_keeps_latex():
    assert clean_text("  Sparse $\\mathcal{O}(n)$:\n  Linear\t Time  ") == (
        "Sparse $\\mathcal{O}(n)$: Linear Time"
    )
    assert clean_text(None) == ""


def test_atom_titles_and_abstracts_are_collapsed_with_latex_kept():
    rec = arxiv_records("arxiv_page1.xml")["2401.01234"]

    assert rec.title == (
        "Sparse Attention in $\\mathcal{O}(n \\log n)$: Linear-Time Transformers for Long Documents"
    )
    assert rec.abstract.startswith("We show that attention over $n$ tokens can be computed in ")
    assert "$\\mathcal{O}(n \\log n)$ time without loss" in rec.abstract
    assert "\\textsc{SparseLog}" in rec.abstract
    assert "\n" not in rec.abstract and "  " not in rec.abstract


# Authors, categories, dates ----------------------------------------------------------------


def test_atom_authors_keep_their_order():
    rec = arxiv_records("arxiv_page1.xml")["2401.01234"]

    assert rec.authors == ["Ada Lovelace", "Alan M. Turing", "Grace Hopper"]


def test_oai_authors_join_forenames_keyname_and_suffix_in_order():
    rec = oai_records("oai_page1.xml")["2401.01234"]

    assert rec.authors == [
        "Ada Lovelace",
        "Alan M. Turing",
        "Martin Luther King Jr",
        "Grace Hopper",
    ]


def test_atom_categories_and_primary_category():
    records = arxiv_records("arxiv_page1.xml")

    assert records["2401.01234"].primary_category == "cs.LG"
    assert records["2401.01234"].categories == ["cs.LG", "cs.CL", "stat.ML"]
    assert records["hep-th/9901001"].primary_category == "hep-th"
    assert records["hep-th/9901001"].categories == ["hep-th", "gr-qc"]


def test_oai_categories_are_split_and_the_first_is_primary():
    rec = oai_records("oai_page1.xml")["2401.01234"]

    assert rec.categories == ["cs.LG", "cs.CL", "stat.ML"]
    assert rec.primary_category == "cs.LG"


def test_a_primary_category_missing_from_the_list_is_added_first():
    rec = validate(PaperRecord(title="T", arxiv_id="2401.00001", primary_category="cs.AI",
                               categories=["cs.LG", "cs.LG", " "]))  # fmt: skip

    assert rec.categories == ["cs.AI", "cs.LG"]


def test_dates_are_time_zone_aware_utc():
    atom = arxiv_records("arxiv_page1.xml")["2401.01234"]
    oai = oai_records("oai_page2.xml")["cs/0112017"]

    assert atom.published_at == dt.datetime(2024, 1, 2, 17, 5, 31, tzinfo=dt.UTC)
    assert atom.updated_at == dt.datetime(2024, 1, 4, 18, 22, 10, tzinfo=dt.UTC)
    assert oai.published_at == dt.datetime(2001, 12, 20, tzinfo=dt.UTC)
    assert oai.updated_at == dt.datetime(2024, 1, 4, tzinfo=dt.UTC)
    for value in (atom.published_at, oai.published_at):
        assert value.utcoffset() == dt.timedelta(0)


def test_other_offsets_are_converted_to_utc():
    rec = validate(PaperRecord(
        title="T", arxiv_id="2401.00001",
        published_at=dt.datetime(2024, 1, 2, 12, 0, tzinfo=dt.timezone(dt.timedelta(hours=-5))),
    ))  # fmt: skip

    assert rec.published_at == dt.datetime(2024, 1, 2, 17, 0, tzinfo=dt.UTC)
    assert rec.published_at.tzinfo == dt.UTC


def test_a_naive_date_is_rejected():
    with pytest.raises(Rejected, match="published date has no time zone"):
        validate(PaperRecord(title="T", arxiv_id="2401.00001",
                             published_at=dt.datetime(2024, 1, 2)))  # fmt: skip


# Links --------------------------------------------------------------------------------------


def test_abs_pdf_and_doi_links():
    records = arxiv_records("arxiv_page1.xml")
    rec = records["2401.01234"]

    assert rec.abs_url == "https://arxiv.org/abs/2401.01234"
    assert rec.pdf_url == "https://arxiv.org/pdf/2401.01234"
    assert rec.doi == "10.1162/neco_a_01234"
    assert rec.journal_ref == "Neural Computation 36 (2024) 1-24"
    old = records["hep-th/9901001"]
    assert old.abs_url == "https://arxiv.org/abs/hep-th/9901001"
    assert old.pdf_url == "https://arxiv.org/pdf/hep-th/9901001"
    assert old.doi is None


def test_records_without_links_get_arxiv_links_from_the_id():
    rec = oai_records("oai_page1.xml")["2401.02000"]

    assert rec.abs_url == "https://arxiv.org/abs/2401.02000"
    assert rec.pdf_url == "https://arxiv.org/pdf/2401.02000"


def test_github_repo_and_project_page_are_found_in_the_comment():
    rec = arxiv_records("arxiv_page1.xml")["2401.01234"]

    assert rec.github_repo == "https://github.com/ada-lab/sparselog"
    assert rec.project_url == "https://ada-lab.github.io/sparselog/"


def test_a_project_page_is_found_in_the_abstract():
    rec = arxiv_records("arxiv_page1.xml")["hep-th/9901001"]

    assert rec.project_url == "http://www.example.edu/~pn/branes"
    assert rec.github_repo == ""


def test_links_the_source_gives_win_over_links_found_in_text():
    page = hf_daily.parse_item(
        {"paper": {"id": "2401.06000", "title": "T", "projectPage": "https://given.example/",
                   "summary": "See https://other.example/ and https://github.com/a/b.git"}},
        None, "item 0",
    )  # fmt: skip
    rec = validate(page)

    assert rec.project_url == "https://given.example/"
    assert rec.github_repo == "https://github.com/a/b"


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Code: https://github.com/ada/sparse-attn.", ("https://github.com/ada/sparse-attn", "")),
        ("https://github.com/ada/x/tree/main/src", ("https://github.com/ada/x", "")),
        ("see (https://proj.example.org/page), and arXiv:2401.1", ("", "https://proj.example.org/page")),
        ("https://arxiv.org/abs/2401.01234 https://doi.org/10.1/x", ("", "")),
        ("", ("", "")),
    ],
)  # fmt: skip
def test_find_links(text, expected):
    assert find_links(text) == expected


# Rejections -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fields, reason",
    [
        ({"title": "  "}, "no title"),
        ({"title": "x" * 1001}, "title longer than 1000 characters"),
        ({"abstract": "x" * 20_001}, "abstract longer than 20000 characters"),
        ({"arxiv_id": "not-an-id"}, "invalid arXiv id 'not-an-id'"),
        ({"arxiv_id": None}, "no arXiv id, DOI or slug"),
        ({"doi": "doi:nonsense"}, "invalid DOI"),
        ({"authors": ["x" * 301]}, "author name longer than 300"),
        ({"categories": ["c" * 33]}, "category longer than 32"),
        ({"project_url": "javascript:alert(1)"}, "project_url is not an http(s) URL"),
        ({"source_upvotes": -1}, "negative upvote count"),
    ],
)
def test_bad_records_are_rejected_with_a_reason(fields, reason):
    rec = PaperRecord(**{"title": "A title", "arxiv_id": "2401.00001", **fields})

    with pytest.raises(Rejected) as raised:
        validate(rec)
    assert reason in str(raised.value)


def test_a_title_of_exactly_1000_characters_is_accepted():
    assert len(validate(PaperRecord(title="x" * 1000, arxiv_id="2401.00001")).title) == 1000


def test_deleted_oai_records_keep_only_their_id():
    page = arxiv_oai.parse_page(fixture("oai_page3.xml"))
    deleted = [validate(r) for r in page.records if r.deleted]

    assert [r.arxiv_id for r in deleted] == ["2312.99999", "2312.88888"]
    assert page.newest == dt.date(2024, 1, 5)
    assert page.token == ""
