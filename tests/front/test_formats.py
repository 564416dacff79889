"""/papers/<id>.md: a paper page as Markdown."""

from __future__ import annotations

import datetime as dt

from factories import list_paper, make_comment, make_paper, make_user

from broadsheet.front.formats import escape


def test_markdown_page(client, db):
    paper = make_paper(
        "Sparse attention on $O(n \\log n)$ budgets",
        arxiv_id="2606.01234",
        authors=["Ada Lovelace", "Alan Turing"],
        abstract="We show *bold* claims about $x_1$ and [links](http://evil.example).",
        published_at=dt.datetime(2026, 6, 20, tzinfo=dt.UTC),
        categories=["cs.LG"],
        pdf_url="https://arxiv.org/pdf/2606.01234",
        github_repo="https://github.com/example/sparse",
        source_upvotes=3,
    )
    list_paper(paper, dt.date(2026, 6, 23))
    make_comment(paper, make_user("bob"), "Great <b>paper</b>\nSecond line")
    response = client.get("/papers/2606.01234.md")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/markdown; charset=utf-8"
    text = response.content.decode()
    assert text.startswith("# Sparse attention on $O(n \\log n)$ budgets\n")
    assert "**Authors:** Ada Lovelace, Alan Turing" in text
    assert "**Published:** 2026-06-20" in text
    assert "**Listed:** 2026-06-23" in text
    assert "**Upvotes:** 3" in text
    assert "[PDF](<https://arxiv.org/pdf/2606.01234>)" in text
    assert "[Code](<https://github.com/example/sparse>)" in text
    assert "[Page](<http://testserver/papers/2606.01234>)" in text
    # Source text cannot add structure; LaTeX stays as written.
    assert "\\*bold\\* claims about $x_1$ and \\[links\\](http://evil.example)" in text
    assert "Great \\<b\\>paper\\</b\\>" in text
    assert "**bob**" in text


def test_old_style_and_versioned_ids(client, db):
    make_paper("Old", arxiv_id="hep-th/9901001")
    make_paper("New", arxiv_id="2606.00002")
    assert client.get("/papers/hep-th/9901001.md").content.startswith(b"# Old\n")
    assert client.get("/papers/2606.00002v2.md").content.startswith(b"# New\n")


def test_unknown_or_hidden_paper_is_a_404(client, db):
    assert client.get("/papers/2606.99999.md").status_code == 404
    make_paper("Hidden", arxiv_id="2606.00003", hidden=True)
    assert client.get("/papers/2606.00003.md").status_code == 404


def test_bib_still_works_beside_md(client, db):
    make_paper("Cite me", arxiv_id="2606.00004")
    assert client.get("/papers/2606.00004.bib").content.startswith(b"@misc{")
    assert client.get("/papers/2606.00004").status_code == 200


def test_escape_leaves_math_and_neutralises_block_syntax():
    assert escape("# not a heading") == "\\# not a heading"
    assert escape("1. not a list") == "1\\. not a list"
    assert escape("- not a list") == "\\- not a list"
    assert escape("a_b $a_b$") == "a\\_b $a_b$"
    assert escape("line\nbreaks   collapse") == "line breaks collapse"
