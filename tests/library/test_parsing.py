"""Reading libraries: the identifiers each format hides its papers' arXiv ids and DOIs in,
titles compared once normalised, and malformed files reported by entry and line."""

from __future__ import annotations

import pytest

from broadsheet.library.bibtex_file import parse_bibtex
from broadsheet.library.entries import LibraryError, normal_title
from broadsheet.library.files import parse_file, source_of_file
from broadsheet.library.ris_file import parse_ris

BIB = r"""
@article{vaswani2017,
  title = {Attention Is {All} You Need},
  eprint = {1706.03762v7},
  archivePrefix = {arXiv},
  timestamp = {2024-01-02 10:00:00 +0000},
}
@misc{url-only, title = {Found by URL}, url = {https://arxiv.org/pdf/2401.01234v2.pdf}}
@misc{arxiv-doi, title = {Found by arXiv DOI}, doi = {10.48550/arXiv.2402.00001}}
@article{journal, title = {Found in the journal field}, journal = {arXiv preprint arXiv:2403.00002}}
@article{old, title = {Old style}, journal = {arXiv e-prints}, eprint = {hep-th/9901001}}
@article{other-archive, title = {Not arXiv}, eprint = {12345}, eprinttype = {pubmed}}
@article{doi-only, title = {Caf{\'e} {Society}}, doi = {https://doi.org/10.1000/XYZ.5}}
"""


def test_bibtex_identifiers_from_every_field_reference_managers_use():
    parsed = parse_bibtex(BIB)
    assert parsed.problems == []
    by_key = {e.where.split("'")[1]: e for e in parsed.entries}
    assert by_key["vaswani2017"].arxiv_id == "1706.03762"
    assert by_key["vaswani2017"].title == "Attention Is All You Need"
    assert by_key["vaswani2017"].added.isoformat() == "2024-01-02T10:00:00+00:00"
    assert by_key["url-only"].arxiv_id == "2401.01234"
    assert by_key["arxiv-doi"].arxiv_id == "2402.00001"
    assert by_key["journal"].arxiv_id == "2403.00002"
    assert by_key["old"].arxiv_id == "hep-th/9901001"
    assert by_key["other-archive"].arxiv_id is None
    assert by_key["doi-only"].arxiv_id is None
    assert by_key["doi-only"].doi == "10.1000/XYZ.5"
    assert by_key["doi-only"].title == "Café Society"
    assert by_key["url-only"].where == "entry 'url-only' (line 8)"


def test_a_broken_bibtex_entry_is_named_by_line_and_the_rest_are_read():
    text = "@article{good, title={Fine}}\n\n@misc{bad,\n  title = {Unclosed\n@book{b, title={B}}\n"
    parsed = parse_bibtex(text)
    assert [e.title for e in parsed.entries] == ["Fine", "B"]
    assert len(parsed.problems) == 1
    assert parsed.problems[0].startswith("line 3: cannot read '@misc{bad,'")


def test_a_repeated_key_is_still_an_entry():
    parsed = parse_bibtex("@misc{k, title={One}}\n@misc{k, title={Two}}\n")
    assert [e.title for e in parsed.entries] == ["One", "Two"]
    assert parsed.problems == []


RIS = """TY  - JOUR
TI  - Attention is all you need
DO  - 10.48550/arXiv.1706.03762
ER  - 

TY  - JOUR
T1  - A journal paper
DO  - 10.1000/abc
UR  - https://example.org/paper
ER  - 

TY  - RPRT
TI  - A preprint
UR  - http://arxiv.org/abs/2401.01234v1
N1  - arXiv: 2401.01234
ER  - 
"""


def test_ris_identifiers_and_lines():
    parsed = parse_ris(RIS)
    assert parsed.problems == []
    a, b, c = parsed.entries
    assert (a.arxiv_id, a.title, a.where) == ("1706.03762", "Attention is all you need",
                                              "record at line 1")  # fmt: skip
    assert (b.arxiv_id, b.doi, b.title, b.where) == (None, "10.1000/abc", "A journal paper",
                                                     "record at line 6")  # fmt: skip
    assert (c.arxiv_id, c.where) == ("2401.01234", "record at line 12")


def test_ris_records_not_closed_or_stray_lines_are_named_by_line():
    text = "hello\nTY  - JOUR\nTI  - Never closed\nTY  - JOUR\nTI  - Closed\nER  - \nTY  - X\n"
    parsed = parse_ris(text)
    assert [e.title for e in parsed.entries] == ["Closed"]
    assert parsed.problems == [
        "line 1: 'hello' is outside a record (RIS records start with 'TY  - ' and end with "
        "'ER  - ')",
        "line 2: record not closed by 'ER  -' before the next one at line 4",
        "line 7: record not closed by 'ER  -' at the end of the file",
    ]


def test_files_are_told_apart_by_extension_or_content():
    assert parse_file("refs.ris", RIS.encode()).entries[0].arxiv_id == "1706.03762"
    assert parse_file("export.txt", RIS.encode()).entries[0].arxiv_id == "1706.03762"
    assert parse_file("x", BIB.encode()).entries[0].arxiv_id == "1706.03762"
    assert parse_file("refs.bib", b"\xef\xbb\xbf" + BIB.encode()).entries[0].title


@pytest.mark.parametrize(
    "data, message",
    [
        (b"@misc{a,\n title={\xff}}", "not UTF-8 text (line 2, byte 17)"),
        (b"just some words", "neither BibTeX"),
        (b"a\x00b", "NUL"),
    ],
)
def test_files_that_are_no_library_are_refused_with_a_reason(data, message):
    with pytest.raises(LibraryError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_file("upload", data)


def test_normal_titles_ignore_case_accents_latex_and_punctuation():
    assert normal_title("{BERT}: Pre-training of Deep  Bidirectional Transformers") == (
        "bert pre training of deep bidirectional transformers"
    )
    assert normal_title(r"Caf\'{e} \emph{Society}") == normal_title("Café society")


def test_a_file_source_is_its_base_name():
    assert source_of_file("C:\\Users\\ada\\My Library.bib") == ("file:My Library.bib",
                                                                "My Library.bib")  # fmt: skip
    assert source_of_file("") == ("file:library", "library")
