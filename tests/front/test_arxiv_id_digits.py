"""arXiv ids are ASCII digits only: an id typed with fullwidth (or other Unicode) digits,
which Python's \\d matches, is no id anywhere: a 404 or no match, never a 500."""

from __future__ import annotations

import pytest
from factories import make_paper

pytestmark = pytest.mark.django_db

FULLWIDTH = "２４０１.０１２３４"


def test_a_fullwidth_version_in_a_paper_url_is_not_found(client):
    make_paper("Sparse attention", arxiv_id="2401.01234")
    assert client.get("/papers/2401.01234v2").status_code == 302  # to the versionless page
    assert client.get("/papers/2401.01234v２").status_code == 404
    assert client.get(f"/papers/{FULLWIDTH}").status_code == 404
    assert client.get(f"/api/papers/{FULLWIDTH}").status_code == 404


def test_a_fullwidth_id_pins_nothing_in_search(client):
    paper = make_paper("Sparse attention", arxiv_id="2401.01234")
    ascii_hits = client.get("/api/papers/search", {"q": "2401.01234"}).json()
    assert [hit["paper"]["id"] for hit in ascii_hits] == [paper.arxiv_id]
    for query in [FULLWIDTH, f"arXiv:{FULLWIDTH}", "https://arxiv.org/abs/2401.01234v２"]:
        response = client.get("/api/papers/search", {"q": query})
        assert response.status_code == 200, query
        assert response.json() == [], query
        assert client.get("/search", {"q": query}).status_code == 200
