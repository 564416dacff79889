"""Importing a library: the matching rules (arXiv id, then DOI, then normalised title),
unknown arXiv papers fetched through the replay server, the report, and re-import updating
the same collection without duplicates."""

from __future__ import annotations

import pytest
from factories import make_paper, make_user

from broadsheet.library.entries import LibraryError
from broadsheet.library.imports import import_file
from broadsheet.papers.models import Collection, CollectionItem, Paper
from broadsheet.search.indexing import index_papers
from tests.ingest.conftest import Reply, ok

pytestmark = pytest.mark.django_db

ATOM = """<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xmlns:arxiv="http://arxiv.org/schemas/atom"
      xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/">
  <opensearch:totalResults>1</opensearch:totalResults>
  <entry>
    <id>http://arxiv.org/abs/2401.01234v2</id>
    <updated>2024-01-08T10:00:00Z</updated>
    <published>2024-01-03T18:00:00Z</published>
    <title>Sparse Autoencoders Find Interpretable Features</title>
    <summary>We train sparse autoencoders on activations.</summary>
    <author><name>Ada Lovelace</name></author>
    <arxiv:primary_category term="cs.LG"/>
    <category term="cs.LG"/>
  </entry>
</feed>"""

EMPTY = """<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/">
  <opensearch:totalResults>0</opensearch:totalResults>
</feed>"""

LIBRARY = r"""
@article{attention, title = {Attention Is All You Need (the arXiv id wins over this title)},
         eprint = {1706.03762}, archivePrefix = {arXiv}, doi = {10.1000/other}}
@article{journal, title = {Some journal paper}, doi = {https://doi.org/10.1145/ABC.123}}
@inproceedings{by-title, title = {{Graph} Neural Networks for Medium-Range Weather: a Study}}
@misc{fetched, title = {SAE}, url = {https://arxiv.org/abs/2401.01234v1}}
@misc{fetched-again, title = {The same paper twice}, eprint = {2401.01234}}
@misc{missing, title = {A Paper arXiv Does Not Have}, eprint = {2401.99999}}
@book{unknown, title = {A Book Nobody Has}}
@misc{broken,
  title = {Unclosed
"""


@pytest.fixture
def papers(db):
    attention = make_paper("Attention Is All You Need", arxiv_id="1706.03762")
    journal = make_paper("A journal paper, titled differently", doi="10.1145/abc.123")
    weather = make_paper("Graph neural networks for medium-range weather: A study")
    make_paper("Graph neural networks for weather")  # close, not the same title
    index_papers([p.pk for p in Paper.objects.all()])
    return {"attention": attention, "journal": journal, "weather": weather}


def script_arxiv(replay):
    replay.script("/api/query", ok(ATOM), query={"id_list": "2401.01234,2401.99999"})


def test_entries_match_by_arxiv_id_doi_then_title_and_unknown_arxiv_papers_are_fetched(
    sources, papers
):
    ada = make_user("ada")
    script_arxiv(sources)
    report = import_file(ada, "refs.bib", LIBRARY.encode())

    fetched = Paper.objects.get(arxiv_id="2401.01234")
    assert fetched.title == "Sparse Autoencoders Find Interpretable Features"
    assert (report.entries, report.matched, report.fetched) == (7, 3, 1)
    assert report.not_found == ["A Paper arXiv Does Not Have", "A Book Nobody Has"]
    assert report.problems == ["line 10: cannot read '@misc{broken,' (an unclosed brace or quote?)"]
    assert report.created and report.collection.name == "refs.bib"
    assert report.collection.source == "file:refs.bib"
    held = set(report.collection.items.values_list("paper_id", flat=True))
    expected = {papers["attention"].pk, papers["journal"].pk, papers["weather"].pk, fetched.pk}
    assert held == expected
    assert report.added == 4 and report.removed == 0
    # The two unknown arXiv ids went to arXiv in one request; the known one did not.
    assert sources.asked("/api/query") == [{"id_list": "2401.01234,2401.99999", "max_results": "2"}]
    assert "3 matched, 1 fetched from arXiv, 2 not found." in report.lines()[0]


def test_reimport_updates_the_same_collection_and_never_duplicates(sources, papers):
    ada = make_user("ada")
    script_arxiv(sources)
    first = import_file(ada, "refs.bib", LIBRARY.encode())
    Collection.objects.filter(pk=first.collection.pk).update(name="My reading")  # renamed

    # The member dropped one entry from their library and kept the rest.
    smaller = LIBRARY.replace("@article{journal", "@comment{journal")
    sources.script("/api/query", ok(EMPTY), query={"id_list": "2401.99999"})
    again = import_file(ada, "refs.bib", smaller.encode())

    assert again.collection.pk == first.collection.pk and not again.created
    assert again.collection.name == "My reading"
    assert (again.added, again.removed) == (0, 1)
    assert (again.matched, again.fetched) == (3, 0)  # the fetched paper is known now
    assert Collection.objects.filter(owner=ada).count() == 1
    assert CollectionItem.objects.filter(collection__owner=ada).count() == 3
    assert papers["journal"].pk not in set(
        again.collection.items.values_list("paper_id", flat=True)
    )
    # Only the id arXiv lacked was asked for again.
    assert sources.asked("/api/query")[-1]["id_list"] == "2401.99999"


def test_a_library_named_like_a_hand_made_collection_gets_its_own(papers):
    ada = make_user("ada")
    mine = Collection.objects.create(owner=ada, name="refs.bib")
    bib = b"@misc{a, title={Attention}, eprint={1706.03762}}"
    report = import_file(ada, "refs.bib", bib, fetch_max=0)
    assert report.collection.pk != mine.pk
    assert report.collection.name == "refs.bib (2)"
    assert not mine.items.exists()


@pytest.mark.parametrize(
    "name, data, message",
    [
        ("a.bib", b"@misc{bad,\n title = {x", "No entry could be read: line 1: cannot read"),
        ("a.ris", b"TY  - JOUR\nTI  - never closed\n", "No entry could be read: line 1: record"),
        ("a.bib", b"@misc{a, note={no id}}", "entry 'a' (line 1): no title, DOI or arXiv id"),
        ("a.bib", b"% an empty BibTeX file\n", "The library holds no entries."),
    ],
)
def test_a_library_with_nothing_to_import_is_refused_and_changes_nothing(name, data, message):
    ada = make_user("ada")
    with pytest.raises(LibraryError, match=message.replace("(", r"\(").replace(")", r"\)")):
        import_file(ada, name, data)
    assert not Collection.objects.exists()


def test_limits_on_size_entries_and_fetches(sources, papers, settings):
    ada = make_user("ada")
    settings.LIBRARY_MAX_BYTES = 100
    with pytest.raises(LibraryError, match="at most 100 are accepted"):
        import_file(ada, "refs.bib", LIBRARY.encode())
    settings.LIBRARY_MAX_BYTES = 10_000
    settings.LIBRARY_MAX_ENTRIES = 5
    with pytest.raises(LibraryError, match="The library has 7 entries; at most 5"):
        import_file(ada, "refs.bib", LIBRARY.encode())
    settings.LIBRARY_MAX_ENTRIES = 100
    sources.script("/api/query", ok(ATOM), query={"id_list": "2401.01234"})
    report = import_file(ada, "refs.bib", LIBRARY.encode(), fetch_max=1)
    assert report.fetched == 1
    assert report.notes == [
        "2 arXiv papers are not on this site yet; 1 were fetched (the most one import "
        "fetches). Import again to fetch more."
    ]


def test_arxiv_refusing_is_a_note_and_the_rest_is_imported(sources, papers):
    ada = make_user("ada")
    sources.script("/api/query", Reply(400, b"bad request"))
    report = import_file(ada, "refs.bib", LIBRARY.encode())
    assert (report.matched, report.fetched) == (3, 0)
    assert "A Paper arXiv Does Not Have" in report.not_found
    assert report.notes[0].startswith("arXiv could not be reached (")
    assert report.collection.items.count() == 3


def test_out_of_time_an_import_adds_what_it_found_and_removes_nothing(sources, papers):
    ada = make_user("ada")
    script_arxiv(sources)
    first = import_file(ada, "refs.bib", LIBRARY.encode())
    asked = len(sources.requests)
    # A page out of time: no title is looked up and nothing fetched, so the paper matched by
    # title last time must stay, although this import did not find it again.
    again = import_file(ada, "refs.bib", LIBRARY.encode(), deadline=0.0)
    assert again.collection.pk == first.collection.pk
    assert (again.matched, again.removed) == (3, 0)
    assert papers["weather"].pk in set(again.collection.items.values_list("paper_id", flat=True))
    assert again.notes == [
        "Not every title could be looked up in the time a page has; what was found is added "
        "and nothing removed. Import again, or ask an administrator to run `broadsheet "
        "import-library`, which has no time limit.",
        "1 arXiv papers were not fetched in the time a page has; import again to fetch them.",
    ]
    assert len(sources.requests) == asked


def test_titles_with_acronym_plurals_are_matched(db):
    # SQLite's lexical index stems "GELUs" in a paper but not in a query: the title's ordinary
    # words are tried when all of them find nothing.
    gelu = make_paper("Gaussian Error Linear Units (GELUs)")
    lstm = make_paper("Rolling-Unrolling LSTMs for Action Anticipation from First-Person Video")
    index_papers([gelu.pk, lstm.pk])
    bib = (b"@misc{a, title={Gaussian error linear units ({GELUs})}}\n"
           b"@misc{b, title={Rolling-unrolling {LSTMs} for action anticipation from "
           b"first-person video}}")  # fmt: skip
    report = import_file(make_user("ada"), "refs.bib", bib, fetch_max=0)
    assert report.not_found == []
    assert set(report.collection.items.values_list("paper_id", flat=True)) == {gelu.pk, lstm.pk}


def test_a_member_at_the_collection_limit_imports_only_into_existing_ones(papers):
    from broadsheet.papers.collections import MAX_PER_MEMBER

    ada = make_user("ada")
    bib = b"@misc{a, title={Attention}, eprint={1706.03762}}"
    import_file(ada, "refs.bib", bib, fetch_max=0)
    Collection.objects.bulk_create(
        Collection(owner=ada, name=f"list {i}") for i in range(MAX_PER_MEMBER - 1)
    )
    with pytest.raises(LibraryError, match=f"You have {MAX_PER_MEMBER} collections"):
        import_file(ada, "other.bib", bib, fetch_max=0)
    assert import_file(ada, "refs.bib", bib, fetch_max=0).collection.source == "file:refs.bib"
