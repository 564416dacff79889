"""Who the client of a request is: its IP address, as rate limits and login limits count it.

Behind a reverse proxy every request comes from the proxy's address, so the client is taken
from `X-Forwarded-For`, but only when the peer (REMOTE_ADDR) is a proxy the site trusts
(settings.FORWARDED_ALLOW_IPS, from BROADSHEET_FORWARDED_ALLOW_IPS). Anyone can send the
header, so it is read from the right: each trusted proxy appends the address it received the
request from, and the rightmost address that is not itself a trusted proxy is the client.
What a client wrote to the left of it is never believed.
"""

from __future__ import annotations

import functools
import ipaddress

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

# The page renderer (front/page_renderer.py) is a client too: its requests carry this WSGI
# environ key. The page cache renders and stores them, never serving them from the cache,
# and the request log marks them.
PAGE_RENDERER = "broadsheet.render_page"


@functools.lru_cache(maxsize=8)
def _trusted(values: tuple[str, ...]) -> tuple[Network, ...]:
    # settings.py has checked each value at start; a test may set others.
    try:
        return tuple(ipaddress.ip_network(v.strip(), strict=False) for v in values if v.strip())
    except ValueError as e:
        raise ImproperlyConfigured(f"BROADSHEET_FORWARDED_ALLOW_IPS: {e}") from None


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    text = text.strip()
    if text.startswith("[") and "]" in text:  # "[2001:db8::1]:443"
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:  # "192.0.2.1:443"
        text = text.split(":")[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


def _is_trusted(address, trusted: tuple[Network, ...]) -> bool:
    return any(address in network for network in trusted)


def client_ip(request: HttpRequest) -> str | None:
    """The client's IP address as text, or None when the request says nothing usable.

    REMOTE_ADDR, unless it is a trusted proxy: then the rightmost address of X-Forwarded-For
    that is not a trusted proxy. When every hop is trusted, the leftmost one is the client; a
    hop that is not an IP address stops the walk there (nothing left of it can be believed).
    """
    peer = _address(request.META.get("REMOTE_ADDR") or "")
    if peer is None:
        return None
    trusted = _trusted(tuple(getattr(settings, "FORWARDED_ALLOW_IPS", ())))
    if not trusted or not _is_trusted(peer, trusted):
        return str(peer)
    client = peer
    hops = request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
    for hop in reversed(hops):
        address = _address(hop)
        if address is None:
            break
        client = address
        if not _is_trusted(address, trusted):
            break
    return str(client)
