"""One bad message never stops a sending run: its row records the error and the others go
out; the command fails only when sending as a whole cannot work. And every Django email
backend sends digests, not only SMTP (console by default, locmem, file)."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from conftest import free_port
from django.core import mail
from django.core.management import CommandError, call_command

from broadsheet.digests.models import DigestRun, Subscription
from broadsheet.digests.send import send_confirmations

from .conftest import TODAY, make_subscriber

BAD = "victim@exa\u2028mple.org"  # stored before addresses were checked


def test_an_address_that_cannot_be_sent_to_fails_its_row_and_the_others_get_mail(smtp, trending):
    make_subscriber("before@example.org")
    make_subscriber(BAD)
    make_subscriber("after@example.org")
    out = io.StringIO()

    call_command("send-digests", "--period", TODAY.key, stdout=out)  # no CommandError

    assert sorted(m.rcpt_tos[0] for m in smtp.messages) == [
        "after@example.org",
        "before@example.org",
    ]
    assert "2 sent" in out.getvalue() and "1 failed" in out.getvalue()
    bad = DigestRun.objects.get(subscription__email=BAD)
    assert bad.status == DigestRun.Status.FAILED
    assert "UnicodeError" in bad.last_error or "UnicodeEncodeError" in bad.last_error
    assert set(DigestRun.objects.exclude(pk=bad.pk).values_list("status", flat=True)) == {
        DigestRun.Status.SENT
    }
    # The next run does not try it again, nor stop on it.
    out = io.StringIO()
    call_command("send-digests", "--period", TODAY.key, stdout=out)
    assert "0 sent" in out.getvalue() and len(smtp.messages) == 2


def test_a_confirmation_that_cannot_be_sent_is_recorded_and_the_others_go_out(smtp, db):
    Subscription.objects.create(email=BAD, confirmation_due=True)
    Subscription.objects.create(email="next@example.org", confirmation_due=True)
    out = io.StringIO()

    call_command("send-digests", "--period", TODAY.key, stdout=out)

    assert [m.rcpt_tos for m in smtp.messages] == [["next@example.org"]]
    assert "1 confirmation emails sent" in out.getvalue()
    bad = Subscription.objects.get(email=BAD)
    assert not bad.confirmation_due
    assert (
        "confirmation email cannot be sent" in bad.disabled_reason
        and "Unicode" in bad.disabled_reason
    )
    call_command("send-digests", "--period", TODAY.key, stdout=io.StringIO())
    assert len(smtp.messages) == 1


def test_an_unreachable_server_makes_the_command_fail(settings, subscriber, trending):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", free_port()  # nobody listens
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 5

    with pytest.raises(CommandError, match="mail server"):
        call_command("send-digests", "--period", TODAY.key, stdout=io.StringIO())

    run = DigestRun.objects.get()
    assert run.status == DigestRun.Status.PENDING and run.last_error  # retried later


def test_the_console_backend_prints_the_digest_and_marks_it_sent(
    settings, capsys, subscriber, trending
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
    out = io.StringIO()

    call_command("send-digests", "--period", TODAY.key, stdout=out)

    assert "1 sent, 0 empty, 0 to retry, 0 failed" in out.getvalue()
    printed = capsys.readouterr().out
    assert "To: reader@example.org" in printed and "Trending paper 1" in printed
    run = DigestRun.objects.get()
    assert run.status == DigestRun.Status.SENT and run.sent_at is not None


def test_the_locmem_backend_collects_the_digest(settings, subscriber, trending):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    out = io.StringIO()

    call_command("send-digests", "--period", TODAY.key, stdout=out)

    assert "1 sent" in out.getvalue()
    (message,) = mail.outbox
    assert message.to == ["reader@example.org"] and "3 papers" in message.subject
    assert DigestRun.objects.get().status == DigestRun.Status.SENT


def test_the_file_backend_writes_the_digest(settings, tmp_path, subscriber, trending):
    settings.EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    settings.EMAIL_FILE_PATH = str(tmp_path)

    call_command("send-digests", "--period", TODAY.key, stdout=io.StringIO())

    (written,) = tmp_path.iterdir()
    assert "To: reader@example.org" in written.read_text()
    assert DigestRun.objects.get().status == DigestRun.Status.SENT


def test_resubscribing_an_unconfirmed_address_resends_its_confirmation_once_per_cooldown(
    client, smtp, db, clock
):
    def subscribe():
        response = client.post(
            "/digests/subscribe", {"email": "again@example.org", "frequency": "daily"}
        )
        assert response.status_code == 200 and b"Check your inbox" in response.content

    subscribe()
    assert send_confirmations() == 1
    for _ in range(5):  # every minute, say
        clock.shift(dt.timedelta(minutes=1))
        subscribe()
        assert send_confirmations() == 0
    assert len(smtp.messages) == 1
    clock.shift(dt.timedelta(minutes=11))  # 16 minutes after the first
    assert send_confirmations() == 1  # the request waited; it was not lost
    assert len(smtp.messages) == 2
    assert send_confirmations() == 0
