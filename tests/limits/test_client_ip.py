"""The client behind the proxy: X-Forwarded-For is believed only from trusted proxies, read
from the right, so a client cannot choose its own address."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys

import pytest
import time_machine
from django.test import Client, RequestFactory

from broadsheet.lib.clients import client_ip

START = dt.datetime(2026, 6, 23, 12, 0, tzinfo=dt.UTC)


def ip(remote: str | None, forwarded: str | None = None) -> str | None:
    meta = {}
    if forwarded is not None:
        meta["HTTP_X_FORWARDED_FOR"] = forwarded
    request = RequestFactory().get("/", **meta)
    if remote is None:
        del request.META["REMOTE_ADDR"]
    else:
        request.META["REMOTE_ADDR"] = remote
    return client_ip(request)


def test_with_no_trusted_proxy_the_peer_is_the_client_whatever_the_header(settings):
    settings.FORWARDED_ALLOW_IPS = []
    assert ip("127.0.0.1", "203.0.113.5") == "127.0.0.1"
    assert ip("198.51.100.1") == "198.51.100.1"


@pytest.mark.parametrize(
    "remote, forwarded, expected",
    [
        ("127.0.0.1", "203.0.113.5", "203.0.113.5"),  # nginx on this host
        # A client's own header is kept by nginx on the left: the address nginx saw wins.
        ("127.0.0.1", "1.2.3.4, 203.0.113.5", "203.0.113.5"),
        ("127.0.0.1", "garbage, 203.0.113.5", "203.0.113.5"),
        # Two proxies: a load balancer in 10.0.0.0/8, then nginx on this host.
        ("127.0.0.1", "1.2.3.4, 203.0.113.5, 10.0.0.7", "203.0.113.5"),
        ("127.0.0.1", " 2001:db8::5 ", "2001:db8::5"),
        ("127.0.0.1", "[2001:db8::5]:4711", "2001:db8::5"),
        ("127.0.0.1", "203.0.113.5:4711", "203.0.113.5"),
        ("::ffff:127.0.0.1", "203.0.113.5", "203.0.113.5"),
        ("127.0.0.1", "", "127.0.0.1"),  # nothing forwarded: the proxy itself
        ("127.0.0.1", None, "127.0.0.1"),
        ("127.0.0.1", "10.0.0.7", "10.0.0.7"),  # every hop trusted: the leftmost
        ("127.0.0.1", "not-an-address", "127.0.0.1"),
        ("198.51.100.1", "203.0.113.5", "198.51.100.1"),  # not from a trusted proxy
        (None, "203.0.113.5", None),
        ("", "203.0.113.5", None),
    ],
)
def test_behind_trusted_proxies_the_rightmost_untrusted_hop_is_the_client(
    settings, remote, forwarded, expected
):
    settings.FORWARDED_ALLOW_IPS = ["127.0.0.1", "10.0.0.0/8"]
    assert ip(remote, forwarded) == expected


def test_a_bad_proxy_setting_is_refused_at_start():
    env = {
        **os.environ,
        "BROADSHEET_FORWARDED_ALLOW_IPS": "127.0.0.1,nginx.local",
        "DJANGO_SETTINGS_MODULE": "broadsheet.settings",
    }
    code = "import django; django.setup()"
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert result.returncode != 0
    assert "BROADSHEET_FORWARDED_ALLOW_IPS: 'nginx.local' is not an IP address" in result.stderr


def behind_proxy(client_address: str) -> Client:
    return Client(REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR=client_address)


def test_api_callers_behind_the_proxy_each_have_their_own_allowance(db, settings):
    settings.FORWARDED_ALLOW_IPS = ["127.0.0.1"]
    settings.API_RATE_LIMIT_ANONYMOUS = 2
    greedy, other = behind_proxy("203.0.113.5"), behind_proxy("198.51.100.7")
    with time_machine.travel(START, tick=False):
        assert [greedy.get("/api/v1/papers").status_code for _ in range(3)] == [200, 200, 429]
        assert other.get("/api/v1/papers").status_code == 200
        # A spoofed header does not buy a fresh allowance: nginx appends the real address.
        spoofed = behind_proxy("1.2.3.4, 203.0.113.5")
        assert spoofed.get("/api/v1/papers").status_code == 429


def test_bad_tokens_spend_only_their_senders_own_allowance(db, settings):
    settings.FORWARDED_ALLOW_IPS = ["127.0.0.1"]
    settings.API_RATE_LIMIT_ANONYMOUS = 2
    guesser, other = behind_proxy("203.0.113.6"), behind_proxy("198.51.100.8")
    wrong = {"Authorization": "Bearer bsk_0123456789ab_guess"}
    with time_machine.travel(START, tick=False):
        statuses = [guesser.get("/api/v1/papers", headers=wrong).status_code for _ in range(3)]
        assert statuses == [401, 401, 429]
        # Neither another client's allowance nor the guesser's anonymous one was spent.
        assert [other.get("/api/v1/papers").status_code for _ in range(2)] == [200, 200]
        assert [guesser.get("/api/v1/papers").status_code for _ in range(2)] == [200, 200]
