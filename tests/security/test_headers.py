"""The Content-Security-Policy and Permissions-Policy headers on every kind of response."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize("url", ["/", "/search?q=x", "/api/v1/papers", "/feeds/daily.rss", "/nope"])
def test_every_response_carries_the_policies(client, db, url):
    response = client.get(url)
    csp = {
        part.split()[0]: part.split()[1:]
        for part in response["Content-Security-Policy"].split(";")
        if part.strip()
    }
    assert csp["default-src"] == ["'self'"]
    assert csp["script-src"] == ["'self'"]
    assert csp["style-src"] == ["'self'"]  # no 'unsafe-inline'
    assert csp["object-src"] == ["'none'"]
    assert csp["base-uri"] == ["'none'"]
    assert csp["frame-ancestors"] == ["'none'"]
    policy = response["Permissions-Policy"]
    for feature in ("camera=()", "microphone=()", "geolocation=()", "payment=()"):
        assert feature in policy
