"""The search behaviour every backend must show: this file runs on SQLite, and on PostgreSQL
with each of its engines (the embedded one, the default, and the database's own)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from broadsheet.search import Filters, related, search
from broadsheet.search.backends import get_backend
from broadsheet.search.indexing import embed_missing
from broadsheet.search.query import MAX_QUERY, parse
from tests.factories import make_paper

HOSTILE = [
    '"',
    '"""',
    "NEAR(",
    "NEAR(a b",
    "*",
    "a*",
    "AND AND",
    "OR",
    "NOT",
    "-",
    "--",
    "title:",
    "author:",
    "cat:",
    "after:",
    "after:2024-13-45",
    "before:yesterday",
    "cat:<script>",
    "'; DROP TABLE papers_paper; --",
    "1 OR 1=1",
    "title:') OR 1=1 --",
    "a & b | !c <-> d:*",
    "{title} : x",
    "^causal",
    "causal AND OR NOT",
    "😀 🤖 ✨",
    "\x00causal\x00",
    "日本語の論文",
    "\\",
    "%_%",
    "( ( ( )",
    "x" * 10_000,
    "causal " * 2000,
]


def pytest_generate_tests(metafunc):
    from django.conf import settings

    if "postgresql" in settings.DATABASES["default"]["ENGINE"]:
        metafunc.parametrize("search_engine", ["embedded", "database"], indirect=True)


@pytest.fixture(autouse=True)
def search_engine(request, settings) -> str | None:
    """PostgreSQL's engine under test (BROADSHEET_SEARCH_ENGINE); None on SQLite."""
    engine = getattr(request, "param", None)
    if engine is not None:
        settings.SEARCH_ENGINE = engine
    return engine


def at(day: str) -> dt.datetime:
    return timezone.make_aware(dt.datetime.fromisoformat(day))


def titles(result) -> list[str]:
    return [h.paper.title for h in result.hits]


# One test over every query (subtests name each): loading the sample is most of a test's time.
def test_hostile_queries_never_raise(sample, subtests):
    for query in HOSTILE:
        with subtests.test(query=query[:40]):
            result = search(query)
            assert result.total >= len(result.hits)
            assert len(result.query) <= MAX_QUERY


def test_hostile_queries_on_the_page_are_not_errors(sample, client, subtests):
    for query in HOSTILE[:12] + HOSTILE[-3:]:
        with subtests.test(query=query[:40]):
            response = client.get("/search", {"q": query, "after": "nonsense", "cat": "<b>"})
            assert response.status_code == 200
            assert b"<script>" not in response.content.replace(b"<script src=", b"")


def test_long_query_is_cut_with_a_notice(sample):
    result = search("sparse autoencoders " * 100)
    assert len(result.query) == MAX_QUERY
    assert any("250" in n for n in result.notices)
    assert result.hits


def test_words_phrases_or_and_exclusion(db, index):
    a = make_paper("Sparse autoencoders find features", abstract="Dictionary learning at scale.")
    b = make_paper("Dense retrieval with transformers", abstract="We find sparse features too.")
    c = make_paper("Graph neural networks", abstract="Message passing on molecules.")
    index(a, b, c, embed=False)
    assert titles(search("sparse features")) == [a.title, b.title] or set(
        titles(search("sparse features"))
    ) == {a.title, b.title}
    assert titles(search('"sparse autoencoders"')) == [a.title]
    assert set(titles(search("molecules OR transformers"))) == {b.title, c.title}
    assert titles(search("sparse -dense")) == [a.title]
    assert titles(search("title:sparse")) == [a.title]


def test_title_weighs_more_than_abstract(db, index):
    in_abstract = make_paper("A study of graphs", abstract="We also mention diffusion once here.")
    in_title = make_paper("Diffusion models", abstract="A study of generative models.")
    index(in_abstract, in_title, embed=False)
    assert titles(search("diffusion")) == [in_title.title, in_abstract.title]


def test_authors_are_searchable_and_filter(db, index):
    a = make_paper("Causal graphs", authors=["Ada Lovelace", "Alan Turing"])
    b = make_paper("Causal bandits", authors=["Grace Hopper"])
    index(a, b, embed=False)
    assert titles(search("lovelace")) == [a.title]
    assert "author" in search("lovelace").hits[0].why
    assert titles(search("causal author:hopper")) == [b.title]
    assert titles(search("causal", Filters(authors=("turing",)))) == [a.title]
    # author: alone browses that author's papers
    assert titles(search("author:lovelace")) == [a.title]
    # every hit carries its authors (the card shows them), whichever list found it
    assert {h.paper.title: h.authors for h in search("causal").hits} == {
        a.title: "Ada Lovelace, Alan Turing",
        b.title: "Grace Hopper",
    }


def test_search_page_shows_authors(db, index, client):
    paper = make_paper("Causal graphs", authors=["Ada Lovelace", "Alan <Turing>"])
    index(paper, embed=False)
    body = client.get("/search", {"q": "causal"}).content.decode()
    assert '<p class="authors">Ada Lovelace, Alan &lt;Turing&gt;</p>' in body


def test_date_and_category_filters_apply_to_every_list(db, index):
    old = make_paper("Causal inference, old", published_at=at("2019-03-01"),
                     primary_category="stat.ME", categories=["stat.ME"])  # fmt: skip
    new = make_paper("Causal inference, new", published_at=at("2025-06-01"),
                     primary_category="cs.LG", categories=["cs.LG", "stat.ML"])  # fmt: skip
    index(old, new)
    assert titles(search("causal after:2024-01-01")) == [new.title]
    assert titles(search("causal before:2020")) == [old.title]
    assert titles(search("causal", Filters(after=dt.date(2025, 6, 1)))) == [new.title]
    assert titles(search("causal", Filters(before=dt.date(2025, 5, 31)))) == [old.title]
    assert titles(search("causal cat:stat.ML")) == [new.title]
    assert titles(search("causal cat:cs")) == [new.title]
    assert titles(search("causal cat:STAT.me")) == [old.title]
    # meaning-only matches obey filters too
    semantic = search("the effect of interventions", Filters(category="cs.LG"))
    assert old.title not in titles(semantic)
    # filters alone list the newest matching papers
    assert titles(search("", Filters(category="stat"))) == [new.title, old.title]


def test_exact_ids_and_titles_are_pinned_first(sample, db, index):
    paper = make_paper("Causal bandits revisited", arxiv_id="2401.01234", doi="10.1234/ABC.5")
    index(paper)
    for query in ["2401.01234", "arXiv:2401.01234v3", "https://arxiv.org/abs/2401.01234",
                  "10.1234/ABC.5", "doi:10.1234/abc.5", paper.slug]:  # fmt: skip
        hit = search(query).hits[0]
        assert hit.paper == paper and hit.pinned and "id" in hit.why, query
    title = "Causal Inference by String Diagram Surgery"
    hit = search(title.lower()).hits[0]
    assert hit.paper.title == title and hit.pinned


def test_hidden_papers_are_never_found(db, index):
    shown = make_paper("Sparse autoencoders for vision")
    hidden = make_paper("Sparse autoencoders for language", hidden=True, arxiv_id="2402.00001")
    index(shown, hidden)
    for query in ["sparse autoencoders", "interpretable features of neural networks",
                  "2402.00001", hidden.title]:  # fmt: skip
        assert hidden.title not in titles(search(query)), query
    assert hidden not in related(shown)


def test_papers_without_vectors_are_found_by_words(sample, db, index):
    paper = make_paper("Quantum annealing schedules", abstract="Annealing on qubits.")
    index(paper, embed=False)
    result = search("quantum annealing")
    assert titles(result)[0] == paper.title
    assert "meaning" not in result.hits[0].why


def test_meaning_finds_papers_without_shared_words(sample):
    result = search("interpretability of language model features")
    assert any("Sparse Autoencoders" in t for t in titles(result)[:5])
    assert any("meaning" in h.why for h in result.hits)


def test_typo_falls_back_to_close_titles(sample, settings):
    result = search("sparse autoencoers")
    assert any("Sparse Autoencoders" in t for t in titles(result)[:3])
    settings.SEARCH_SEMANTIC = False  # the corrected words alone put it first
    result = search("sparse autoencoers")
    assert result.hits and "Sparse Autoencoders" in result.hits[0].paper.title


def test_highlights_are_escaped(db, index):
    paper = make_paper("<script>alert(1)</script> sparse & dense", abstract="<b>sparse</b> x")
    index(paper, embed=False)
    hit = search("sparse").hits[0]
    assert "<script>" not in hit.title_html and "&lt;script&gt;" in hit.title_html
    assert "<mark>sparse</mark>" in hit.title_html and "&amp;" in hit.title_html
    assert "<b>" not in hit.snippet_html and "<mark>sparse</mark>" in hit.snippet_html


def test_changed_text_is_reindexed_and_re_embedded(db, index, cached_embed, words_only):
    paper = make_paper("Old title about graphs")
    index(paper)
    paper.title = "New title about bandits"
    paper.save()
    index(paper, embed=False)
    assert titles(search("bandits")) == [paper.title]
    assert search("graphs").hits == []
    assert paper.search_document.__class__.objects.get(pk=paper.pk).embedding is None
    assert embed_missing(embed=cached_embed).embedded == 1


def test_a_new_vector_index_generation_is_picked_up_without_restart(sample, db, index):
    query = "protein folding with language models"
    before = nearest(query)
    paper = make_paper("Protein structure prediction from sequence",
                       abstract="We fold proteins with a large language model.")  # fmt: skip
    index(paper)  # embeds and (SQLite) writes a new index generation
    after = nearest(query)
    assert paper.title not in before
    assert after[0] == paper.title


def nearest(text: str) -> list[str]:
    """Titles of the papers nearest in meaning to `text`, as the backend finds them."""
    from broadsheet.papers.models import Paper
    from broadsheet.search.embedder import embed_query

    backend = get_backend()
    with backend.pinned():
        ids = [pid for pid, _ in backend.semantic(embed_query(text), Filters(), 10)]
    found = Paper.objects.in_bulk(ids)
    return [found[pid].title for pid in ids]


def test_pagination_and_total(sample):
    first = search("causal", limit=5)
    second = search("causal", limit=5, offset=5)
    assert first.total >= 10 and first.has_next
    assert not set(titles(first)) & set(titles(second))
    assert search("causal", offset=5000).hits == []


def test_the_total_counts_every_match_past_the_first_page(db, index):
    matching = [make_paper(f"Graph coarsening, part {i}") for i in range(130)]
    others = [make_paper(f"Protein folding, part {i}") for i in range(10)]
    index(*matching, *others, embed=False)
    backend = get_backend()
    query = parse("graph coarsening")
    hits, total = backend.lexical_counted(query, Filters(), 100, 10_000)
    assert hits == backend.lexical(query, Filters(), 100)
    assert total == backend.lexical_count(query, Filters(), 10_000) == 130
    assert backend.lexical_counted(query, Filters(), 200, 10_000)[1] == 130  # not full
    assert search("graph coarsening").total == 130
    typo = search("graph coarsning")
    if connection.vendor == "sqlite":  # it corrects words (PostgreSQL matches titles)
        assert typo.corrected == "graph coarsening"
        assert typo.total == 130  # the corrected query's matches, counted


def test_related_papers(sample):
    paper = next(p for t, p in sample.items() if t.startswith("Interpreting Attention Layer"))
    found = related(paper, k=3)
    assert len(found) == 3 and paper not in found
    assert any("Sparse" in p.title for p in found)


def test_related_without_vector_uses_title_words(db, index):
    a = make_paper("Bandit algorithms for causal graphs")
    b = make_paper("Causal bandit regret bounds")
    index(a, b, embed=False)
    assert related(a) == [b]


def test_commands_are_idempotent(sample, capsys):
    call_command("embed")
    call_command("embed", "--limit", "5", "--batch-size", "4")
    call_command("reindex")
    call_command("reindex")
    out = capsys.readouterr().out
    assert "0 embedded" in out and "34 papers in the lexical index" in out
    assert titles(search("string diagram surgery"))[0].startswith("Causal Inference by String")


def test_search_page(sample, client):
    response = client.get("/search", {"q": "sparse autoencoders"})
    assert response.status_code == 200
    body = response.content.decode()
    assert "<mark>" in body and 'name="q"' in body and "search.js" in body
    partial = client.get("/search", {"q": "causal", "partial": "1", "page": "2"})
    assert partial.status_code == 200 and "<html" not in partial.content.decode()
    assert "Previous" in partial.content.decode()
    assert client.get("/search").status_code == 200
    assert client.get("/search", {"q": "causal", "page": "x"}).status_code == 200
    filtered = client.get("/search", {"after": "2026-06-01"})
    assert filtered.status_code == 200 and "Ultra Flash" in filtered.content.decode()


def test_papers_changed_signal_keeps_the_index_in_step(db):
    from broadsheet.papers.signals import papers_changed
    from broadsheet.search.backends import follows_changes

    paper = make_paper("Topological data analysis of loss landscapes")
    if not follows_changes():  # there the database's triggers log every change, signal or not
        assert search("topological").hits == []
    papers_changed.send(sender=None, paper_ids=[paper.pk])
    assert titles(search("topological")) == [paper.title]


def test_a_small_site_gets_the_exact_nearest_papers(sample):
    """Below 20,000 vectors both backends compare every vector (SQLite: a flat index;
    PostgreSQL: no HNSW walk, which could miss neighbours, more so before a vacuum)."""
    import numpy as np

    from broadsheet.search.backends import get_backend
    from broadsheet.search.embedder import embed_query

    backend = get_backend()
    ids = [paper.pk for paper in sample.values()]
    stored = np.stack([backend.vector_of(pid) for pid in ids])
    for query in ("protein folding with language models", "causal inference", "video"):
        vector = embed_query(query)
        exact = [ids[i] for i in np.argsort(-(stored @ vector), kind="stable")[:10]]
        found = [pid for pid, _ in backend.semantic(vector, Filters(), 10)]
        assert found == exact
