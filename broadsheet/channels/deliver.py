"""One message to one Apprise URL, with a timeout, and what became of it.

Apprise answers a send with True or False; why it failed is in the log records it keeps per
send (`AppriseResult.logs()`). Those records are read here and never passed on: a failure is
described in words of our own (the service's name, an HTTP status), since a plugin's log text
can hold the URL's secrets.

Temporary: no answer in time, a connection refused, HTTP 408/425/429 and 5xx, or any failure
whose cause Apprise did not say. Permanent: a URL Apprise does not accept, and other HTTP
4xx (a revoked webhook, a wrong token): sending again would fail again.
"""

from __future__ import annotations

import ipaddress
import logging
import re
from dataclasses import dataclass

import apprise
from django.conf import settings

STATUS = re.compile(r"error=(\d{3})\b")
TEMPORARY_4XX = {408, 425, 429}


@dataclass(frozen=True)
class Outcome:
    ok: bool
    permanent: bool = False
    reason: str = ""


def check_url(url: str) -> str | None:
    """Why Apprise cannot send to `url`, or None when it can."""
    if len(url) > 2000:
        return "The URL is too long (2,000 characters at most)."
    try:
        plugin = apprise.Apprise.instantiate(url)
    except Exception:  # a plugin that raises on odd input: the URL is still not usable
        plugin = None
    if plugin is None:
        return (
            "Apprise does not recognise this URL (see its list of services: "
            "slack://, discord://, mmosts://, matrixs://, msteams://, tgram://, mailto://, "
            "json://...)."
        )
    hosts = [getattr(plugin, "host", None), getattr(plugin, "smtp_host", None)]
    if not settings.CHANNEL_ALLOW_PRIVATE_HOSTS and any(is_private(h) for h in hosts if h):
        return (
            "This site does not send to private or loopback addresses "
            "(BROADSHEET_CHANNEL_ALLOW_PRIVATE_HOSTS)."
        )
    return None


def is_private(host: str) -> bool:
    """A loopback, private, link-local or otherwise non-public address written in the URL, or
    localhost. Names are not resolved here (no DNS lookup in a web request): a firewall on
    the worker's outbound traffic is what stops a public name pointing inside."""
    host = host.strip("[]").lower().rstrip(".")
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return not ipaddress.ip_address(host).is_global
    except ValueError:
        return False


def deliver(url: str, title: str, body: str, timeout: float) -> Outcome:
    try:
        plugin = apprise.Apprise.instantiate(url)
    except Exception:
        plugin = None
    if plugin is None:
        return Outcome(False, permanent=True, reason="Apprise does not accept this URL")
    name = getattr(plugin, "service_name", "") or "the destination"
    # Each of connecting and reading the answer, so one dead destination costs at most this.
    plugin.socket_connect_timeout = plugin.socket_read_timeout = float(timeout)
    sender = apprise.Apprise()
    sender.add(plugin)
    try:
        result = sender.notify(
            body=body,
            title=title,
            body_format=apprise.NotifyFormat.MARKDOWN,
            log_level=logging.WARNING,
        )
    except Exception as e:  # a plugin's bug: the type only (its text could hold the URL)
        return Outcome(False, reason=f"{name}: the send failed ({type(e).__name__})")
    if result:
        return Outcome(True)
    messages = " ".join(str(getattr(entry, "message", "")) for entry in result.logs())
    if match := STATUS.search(messages):
        code = int(match[1])
        permanent = 400 <= code < 500 and code not in TEMPORARY_4XX
        return Outcome(False, permanent=permanent, reason=f"{name} answered HTTP {code}")
    if "connection" in messages.lower() or "timeout" in messages.lower():
        return Outcome(False, reason=f"{name}: no connection or no answer within {timeout:g} s")
    return Outcome(False, reason=f"{name} did not accept the message")
