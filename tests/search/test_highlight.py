"""Highlighting: which words are marked, in titles, snippets and author lists."""

from __future__ import annotations

import dataclasses

from broadsheet.search import highlight


def marked(text: str, *words: str) -> str:
    return highlight.mark(text, highlight.word_pattern(words))


def test_only_words_that_start_with_a_query_word_are_marked():
    assert marked("Data and metadata: learning, unlearning, Learned", "data", "learning") == (
        "<mark>Data</mark> and metadata: <mark>learning</mark>, unlearning, Learned"
    )
    # a stem: "autoencoders" also marks the singular; case is ignored, also outside ASCII
    assert marked("An autoencoder", "autoencoders") == "An <mark>autoencoder</mark>"
    assert marked("Über die Straße, ÜBERALL", "über") == (
        "<mark>Über</mark> die Straße, <mark>ÜBERALL</mark>"
    )
    assert marked("x_data data", "data") == "x_data <mark>data</mark>"


def test_author_matches_need_a_word_start():
    pattern = highlight.word_pattern(["ng"])
    assert highlight.matches("Andrew Ng, Yann LeCun", pattern)
    assert not highlight.matches("Yann LeCun, Wang", pattern)
    assert not highlight.matches("", pattern) and not highlight.matches("Ng", None)


def test_the_snippet_is_the_window_with_most_matches():
    words = ["filler"] * 100 + ["sparse", "coding", "and", "sparse", "codes"] + ["tail"] * 100
    snippet = highlight.snippet(" ".join(words), highlight.word_pattern(["sparse", "codes"]))
    assert snippet.startswith("… ") and snippet.endswith(" …")
    assert snippet.count("<mark>") == 3 and "<mark>codes</mark>" in snippet
    assert len(snippet.replace("<mark>", "").replace("</mark>", "").split()) == 47  # 45 + …


def test_ascii_words_are_found_as_the_regex_finds_them():
    texts = [
        "Learning to learn: unlearning, LEARNED, x_learning and learn-ing (learnings)",
        "Data, metadata, datasets and DATA; database-driven data_sets",
        "transformers transform TRANSFORMATIONS; a-transformer?",
    ]
    for words in (["learning", "learn"], ["data", "datasets"], ["transformers", "model"]):
        pattern = highlight.word_pattern(words)
        assert pattern.by_find
        regex_only = dataclasses.replace(pattern, ascii=False)  # the path for other text
        for text in texts:
            assert highlight._spans(pattern, text) == highlight._spans(regex_only, text)
            assert highlight.mark(text, pattern) == highlight.mark(text, regex_only)
