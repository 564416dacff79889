"""Digests through a real SMTP server: content, headers, both alternatives, one-click
unsubscribe, saved searches (new papers only), retries, bounces and the dry run."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from aiosmtpd.controller import Controller
from conftest import SMTPServer, _Collector, free_port
from django.core.management import call_command
from factories import make_paper

from broadsheet.digests.models import DigestRun, Subscription
from broadsheet.digests.send import send_digests
from broadsheet.digests.subscribe import save_search

from .conftest import NOW, TODAY, indexed, make_subscriber


def _parts(received):
    msg = received.message
    return msg.get_body(("plain",)).get_content(), msg.get_body(("html",)).get_content()


def test_a_digest_has_both_alternatives_and_one_click_unsubscribe_headers(
    client, smtp, subscriber, trending
):
    counts = send_digests()
    assert counts.sent == 1
    (received,) = smtp.messages
    msg = received.message
    assert received.rcpt_tos == ["reader@example.org"]
    assert "digest" in msg["Subject"] and "3 papers" in msg["Subject"]
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    unsubscribe = str(msg["List-Unsubscribe"]).strip()  # long: folded onto its own line
    assert unsubscribe.startswith("<https://papers.example.org/digests/unsubscribe/")
    text, html = _parts(received)
    # Trending, most votes first, in both alternatives, with links to the papers.
    assert (
        text.index("Trending paper 1")
        < text.index("Trending paper 2")
        < text.index("Trending paper 3")
    )
    assert f"https://papers.example.org{trending[0].get_absolute_url()}" in text
    assert f'href="https://papers.example.org{trending[0].get_absolute_url()}"' in html
    assert "<script" not in html.lower() and "style=" in html  # inline styles, no scripts
    assert "/digests/manage/" in text and "/digests/manage/" in html
    assert unsubscribe.strip("<>") in text

    # RFC 8058: the mail provider POSTs the body below, with no cookie and no CSRF token.
    path = unsubscribe.strip("<>").removeprefix("https://papers.example.org")
    client.handler.enforce_csrf_checks = True
    response = client.post(
        path, "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 200
    assert not Subscription.objects.get().active
    # The next day's digest does not go out.
    assert send_digests(["2026-11-26"]).sent == 0
    assert len(smtp.messages) == 1


def test_each_period_is_sent_once_and_empty_digests_are_not_sent(smtp, subscriber, trending):
    assert send_digests([TODAY.key]).sent == 1
    assert send_digests([TODAY.key]).sent == 0
    # The next day: nothing was listed since the last digest, so no email.
    counts = send_digests(["2026-11-26"])
    assert (counts.sent, counts.empty) == (0, 1)
    assert len(smtp.messages) == 1
    assert DigestRun.objects.get(period="2026-11-26").status == "empty"


@pytest.mark.django_db(transaction=True)
def test_each_message_is_marked_sent_as_soon_as_the_server_accepts_it(smtp, trending, monkeypatch):
    """By the postman, before it sends the next: not when the sending thread gets round to
    it, for a sender killed meanwhile would send again what the server already holds
    (test_exactly_once.py kills one). Here the sending thread never records a result."""
    from broadsheet.digests.send import Sender

    for i in range(5):
        make_subscriber(f"r{i}@example.org")
    monkeypatch.setattr(Sender, "settle", lambda self, results: None)
    send_digests([TODAY.key])
    assert len(smtp.messages) == 5
    assert DigestRun.objects.filter(status="sent").count() == 5


def test_weekdays_and_frequency_decide_who_is_due(smtp, trending):
    make_subscriber("weekdays@example.org")
    make_subscriber("sundays@example.org", weekdays="6")
    make_subscriber("weekly@example.org", frequency="weekly")
    send_digests(["2026-11-25"])  # a Wednesday
    assert [m.rcpt_tos for m in smtp.messages] == [["weekdays@example.org"]]
    send_digests(["2026-W48"])
    assert [m.rcpt_tos for m in smtp.messages][1:] == [["weekly@example.org"]]


def test_saved_searches_bring_only_papers_new_since_the_last_digest(smtp, member_subscriber):
    user = member_subscriber.user
    save_search(user, "sparse autoencoders")
    save_search(user, "protein folding", category="q-bio")
    old = make_paper("Sparse autoencoders, the early work", published_at=NOW - dt.timedelta(days=2))
    make_paper("Unrelated gardening", published_at=NOW - dt.timedelta(days=1))
    indexed(*__import__("broadsheet.papers.models", fromlist=["Paper"]).Paper.objects.all())
    Subscription.objects.filter(pk=member_subscriber.pk).update(top_n=0, include_picks=False)

    assert send_digests(["2026-11-24"]).sent == 1
    text, html = _parts(smtp.messages[0])
    assert "SAVED SEARCH: sparse autoencoders" in text and old.title in text
    assert "protein folding" not in text  # no new paper for it: no section
    assert "Unrelated gardening" not in text

    new = make_paper("Sparse autoencoders find features", published_at=NOW)
    indexed(new)
    assert send_digests([TODAY.key]).sent == 1
    text, _ = _parts(smtp.messages[1])
    assert new.title in text and old.title not in text


def test_line_breaks_in_a_saved_query_cannot_inject_headers(smtp, member_subscriber):
    saved, _ = save_search(
        member_subscriber.user, "attention\r\nBcc: victim@example.org\nX-Evil: 1"
    )
    assert "\n" not in saved.query and "\r" not in saved.query
    paper = make_paper("Attention Bcc: victim@example.org X-Evil: 1", published_at=NOW)
    indexed(paper)
    Subscription.objects.filter(pk=member_subscriber.pk).update(top_n=0)
    send_digests()
    (received,) = smtp.messages
    assert received.rcpt_tos == ["grace@example.org"]
    assert received.message["Bcc"] is None and received.message["X-Evil"] is None
    header_block = received.raw.split(b"\r\n\r\n", 1)[0]
    assert b"victim" not in header_block
    assert "SAVED SEARCH: attention Bcc: victim@example.org X-Evil: 1" in _parts(received)[0]


def test_hostile_query_syntax_is_left_to_the_search_layer(smtp, member_subscriber, trending):
    for query in ['"unclosed', "title:(((", "-", "OR OR", "'; DROP TABLE papers_paper; --", "\\"]:
        save_search(member_subscriber.user, query)
    assert send_digests().sent == 1  # the trending part still goes out
    assert len(smtp.messages) == 1


def test_a_refused_connection_is_retried_later_and_then_delivered(
    settings, smtp, subscriber, trending, clock
):
    settings.EMAIL_PORT = free_port()  # nothing listens there
    counts = send_digests()
    assert (counts.sent, counts.retry) == (0, 1)
    run = DigestRun.objects.get()
    assert run.status == "pending" and run.attempts == 1 and "refused" in run.last_error.lower()
    settings.EMAIL_PORT = smtp.port
    assert send_digests().sent == 0  # not due yet: backoff
    clock.shift(dt.timedelta(seconds=61))
    assert send_digests().sent == 1
    assert len(smtp.messages) == 1
    assert DigestRun.objects.get().status == "sent"


def test_temporary_failures_stop_after_the_bounded_attempts(
    settings, db, subscriber, trending, clock
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", free_port()
    for _ in range(settings.DIGEST_MAX_ATTEMPTS):
        send_digests([TODAY.key])
        clock.shift(dt.timedelta(hours=1))
    run = DigestRun.objects.get()
    assert run.status == "failed" and run.attempts == settings.DIGEST_MAX_ATTEMPTS


class _Rejecting(_Collector):
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("gone"):
            return "550 5.1.1 No such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"


@pytest.fixture
def rejecting_smtp(settings):
    server = SMTPServer(host="127.0.0.1", port=free_port())
    controller = Controller(_Rejecting(server), hostname=server.host, port=server.port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = server.host, server.port
    yield server
    controller.stop()


def test_permanent_rejections_disable_the_address_after_the_limit(rejecting_smtp, trending, clock):
    make_subscriber("gone@example.org")
    make_subscriber("fine@example.org")
    send_digests(["2026-11-24"])
    # The good address on the same connection still gets its digest.
    assert [m.rcpt_tos for m in rejecting_smtp.messages] == [["fine@example.org"]]
    gone = Subscription.objects.get(email="gone@example.org")
    assert gone.hard_bounces == 1 and gone.receiving
    assert DigestRun.objects.get(subscription=gone).status == "failed"
    send_digests([TODAY.key])
    gone.refresh_from_db()
    assert gone.hard_bounces == 2 and not gone.receiving and "550" in gone.disabled_reason
    send_digests(["2026-11-26"])
    assert not DigestRun.objects.filter(subscription=gone, period="2026-11-26").exists()


def test_dry_run_sends_and_stores_nothing(smtp, subscriber, trending):
    out = io.StringIO()
    call_command("send-digests", "--dry-run", stdout=out)
    assert "reader@example.org: 3 papers" in out.getvalue()
    assert "1 would be sent" in out.getvalue()
    assert smtp.messages == [] and not DigestRun.objects.exists()


def test_the_command_sends_to_one_address_and_names_bad_arguments(smtp, trending):
    make_subscriber("one@example.org")
    make_subscriber("two@example.org")
    out = io.StringIO()
    call_command("send-digests", "--email", "one@example.org", "--period", TODAY.key, stdout=out)
    assert "1 sent" in out.getvalue()
    assert [m.rcpt_tos for m in smtp.messages] == [["one@example.org"]]
    from django.core.management import CommandError

    with pytest.raises(CommandError, match="2026-13-01"):
        call_command("send-digests", "--period", "2026-13-01")
    with pytest.raises(CommandError, match="valid email"):
        call_command("send-digests", "--email", "nope")
