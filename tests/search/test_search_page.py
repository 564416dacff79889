"""The /search page's count line and pages (runs on SQLite and PostgreSQL)."""

from __future__ import annotations

import re

from tests.factories import make_paper


def count_line(client, **params) -> str:
    response = client.get("/search", params)
    assert response.status_code == 200
    found = re.search(r'<p class="count muted">(.*?)</p>', response.content.decode(), re.S)
    assert found
    return " ".join(found[1].split())


def test_the_count_line_names_the_range_shown_on_each_page(db, index, client):
    papers = [make_paper(f"Wavelet scattering networks, part {i}") for i in range(45)]
    index(*papers, embed=False)
    assert count_line(client, q="wavelet") == ("45 papers, showing 1–20")
    assert count_line(client, q="wavelet", page="2") == "45 papers, showing 21–40"
    assert count_line(client, q="wavelet", page="3") == "45 papers, showing 41–45"


def test_one_page_of_results_needs_no_range(db, index, client):
    papers = [make_paper(f"Wavelet scattering networks, part {i}") for i in range(3)]
    index(*papers, embed=False)

    assert count_line(client, q="wavelet") == "3 papers"
