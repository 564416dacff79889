"""CORS for reads: any origin may GET the API and feeds; nothing else is allowed cross-origin."""

from __future__ import annotations

ORIGIN = {"Origin": "https://elsewhere.example"}


def test_get_responses_allow_any_origin_and_expose_link(client, db):
    response = client.get("/api/v1/papers", headers=ORIGIN)
    assert response["Access-Control-Allow-Origin"] == "*"
    assert "Link" in response["Access-Control-Expose-Headers"]
    assert "Access-Control-Allow-Credentials" not in response
    assert client.get("/api/daily_papers", headers=ORIGIN)["Access-Control-Allow-Origin"] == "*"
    assert client.get("/feeds/daily.rss", headers=ORIGIN)["Access-Control-Allow-Origin"] == "*"


def test_preflight_allows_reads_with_a_token_but_not_writes(client, db):
    response = client.options(
        "/api/v1/papers/2401.00001/upvote",
        headers={
            **ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization",
        },
    )
    assert response.status_code == 204
    assert response["Access-Control-Allow-Methods"] == "GET, HEAD, OPTIONS"
    assert "POST" not in response["Access-Control-Allow-Methods"]
    assert "Authorization" in response["Access-Control-Allow-Headers"]


def test_writes_and_pages_get_no_cors_headers(client, db):
    assert "Access-Control-Allow-Origin" not in client.post("/api/v1/submissions", headers=ORIGIN)
    assert "Access-Control-Allow-Origin" not in client.get("/", headers=ORIGIN)
