"""The digest, confirmation and manage-link emails: subject, plain text and HTML from templates.

One function per kind of email, each rendered from three templates
(`digests/email/<kind>-subject.txt`, `-body-text.txt`, `-body-html.html`). Every digest
carries List-Unsubscribe with a signed one-click URL (RFC 8058) and a link to manage the
subscription. Subjects are collapsed to one line: a header can never hold CR or LF.
"""

from __future__ import annotations

import re

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import get_template
from django.urls import reverse

from broadsheet.digests import tokens
from broadsheet.digests.compose import Digest
from broadsheet.digests.models import Subscription

_SPACE = re.compile(r"\s+")


def absolute(path: str) -> str:
    return settings.SITE_URL + path


def unsubscribe_url(subscription: Subscription) -> str:
    token = tokens.make_token(subscription, tokens.UNSUBSCRIBE)
    return absolute(reverse("digests:unsubscribe", args=[token]))


def manage_url(subscription: Subscription) -> str:
    token = tokens.make_token(subscription, tokens.MANAGE)
    return absolute(reverse("digests:manage", args=[token]))


def _render(kind: str, context: dict) -> tuple[str, str, str]:
    subject = get_template(f"digests/email/{kind}-subject.txt").render(context)
    text = get_template(f"digests/email/{kind}-body-text.txt").render(context)
    html = get_template(f"digests/email/{kind}-body-html.html").render(context)
    return _SPACE.sub(" ", subject).strip()[:200], text, html


def _message(
    subscription: Subscription, rendered: tuple[str, str, str], headers: dict, connection=None
):
    subject, text, html = rendered
    message = EmailMultiAlternatives(
        subject,
        text,
        settings.DEFAULT_FROM_EMAIL,
        [subscription.email],
        headers=headers,
        connection=connection,
    )
    message.attach_alternative(html, "text/html")
    return message


def digest_context(digest: Digest) -> dict:
    """What a digest shows, for the preview page."""
    return {
        "trending": digest.trending,
        "searches": [s for s in digest.searches if s.papers],
        "picks": digest.picks,
    }


class Renderer:
    """Renders digests for one sending run. Sections shared by many subscribers (the same
    trending papers, the same saved search with the same new papers) are rendered once."""

    def __init__(self) -> None:
        self._sections: dict[tuple, tuple[str, str]] = {}
        self._urls: dict[int, str] = {}

    def url(self, paper) -> str:
        if paper.pk not in self._urls:
            self._urls[paper.pk] = absolute(paper.get_absolute_url())
        return self._urls[paper.pk]

    def _section(self, name: str, context: dict) -> tuple[str, str]:
        return (
            get_template(f"digests/email/_{name}.txt").render(context),
            get_template(f"digests/email/_{name}.html").render(context),
        )

    def _shared(self, key: tuple, name: str, context: dict) -> tuple[str, str]:
        if key not in self._sections:
            self._sections[key] = self._section(name, context)
        return self._sections[key]

    def sections(self, digest: Digest) -> list[tuple[str, str]]:
        out = []
        if digest.trending:
            ids = tuple(p.pk for p in digest.trending)
            items = [(p, self.url(p)) for p in digest.trending]
            out.append(self._shared(("trending", ids), "trending", {"items": items}))
        for section in digest.searches:
            if section.papers:
                ids = tuple(p.pk for p in section.papers)
                key = ("search", section.saved.query, section.saved.category,
                       section.saved.author, ids)  # fmt: skip
                items = [(p, self.url(p)) for p in section.papers]
                out.append(self._shared(key, "search", {"saved": section.saved, "items": items}))
        if digest.picks:
            items = [(pick, self.url(pick.paper)) for pick in digest.picks]
            out.append(self._section("picks", {"items": items}))
        return out

    def email(self, digest: Digest, connection=None) -> EmailMultiAlternatives:
        sub = digest.subscription
        context = {
            "site_name": settings.SITE_NAME,
            "site_url": settings.SITE_URL,
            "digest": digest,
            "period": digest.period,
            "sections": self.sections(digest),
            "unsubscribe_url": unsubscribe_url(sub),
            "manage_url": manage_url(sub),
        }
        headers = {
            "List-Unsubscribe": f"<{context['unsubscribe_url']}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            # Clients and providers group and filter on this; it names the list, not a person.
            "List-Id": f"{_SPACE.sub(' ', settings.SITE_NAME)} digest <digest.{_list_host()}>",
        }
        return _message(sub, _render("digest", context), headers, connection)


def digest_email(digest: Digest, connection=None) -> EmailMultiAlternatives:
    return Renderer().email(digest, connection)


def confirmation_email(subscription: Subscription, connection=None) -> EmailMultiAlternatives:
    token = tokens.make_token(subscription, tokens.CONFIRM)
    context = {
        "site_name": settings.SITE_NAME,
        "subscription": subscription,
        "confirm_url": absolute(reverse("digests:confirm", args=[token])),
        "days": settings.DIGEST_CONFIRM_DAYS,
    }
    return _message(subscription, _render("confirm", context), {}, connection)


def manage_link_email(subscription: Subscription, connection=None) -> EmailMultiAlternatives:
    """To a confirmed address someone gave the public subscribe form: its own manage link."""
    context = {
        "site_name": settings.SITE_NAME,
        "subscription": subscription,
        "manage_url": manage_url(subscription),
    }
    return _message(subscription, _render("manage", context), {}, connection)


def _list_host() -> str:
    host = re.sub(r"^[a-z]+://", "", settings.SITE_URL).split("/")[0].split(":")[0]
    return re.sub(r"[^A-Za-z0-9.\-]", "", host) or "localhost"
