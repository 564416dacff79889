"""The SMTP side of sending: one connection, in a thread of its own.

Composing and rendering a digest is Python work; handing it to the server is mostly waiting
for the server's replies, during which Python releases the GIL. With the two in different
threads they overlap, one message being rendered while the previous one is on the wire. The
postman reports each result back, and the sending thread records it. The one exception is
`on_accepted`: called in the postman's thread (on its own database connection) as soon as
the server accepted a message, before the next is sent, so that a sender killed at any point
has marked sent every message but, at worst, the one accepted that instant. Its inbox holds
at most two messages, so little is ever in flight.

With Django's SMTP backend the postman hands the prepared bytes to the open connection; any
other backend (console, the default without BROADSHEET_EMAIL_URL; locmem; file) gets the
message through its own send_messages(). An error that concerns one message (say an address
that cannot be encoded) is reported for that message and the postman goes on; an error that
leaves no usable backend marks the server unreachable.
"""

from __future__ import annotations

import logging
import queue
import smtplib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.core.mail import get_connection
from django.core.mail.backends.smtp import EmailBackend as SMTPBackend
from django.core.mail.message import sanitize_address
from django.db import connection

log = logging.getLogger("broadsheet.digests")

SKIPPED = object()  # not attempted: the server was found unreachable before it


class NotSent(Exception):
    """A backend other than SMTP reported the message as not sent."""


class BackendUnavailable(Exception):
    """The email backend could not be set up or opened: no message can be sent."""


@dataclass
class Letter:
    run: object  # the DigestRun
    from_email: str
    recipients: list[str]
    data: bytes
    message: object = None  # the EmailMessage, for backends other than SMTP


def letter(run, message) -> Letter:
    """The envelope and bytes Django's SMTP backend would send, built in the caller's thread."""
    encoding = message.encoding or settings.DEFAULT_CHARSET
    return Letter(
        run,
        sanitize_address(message.from_email, encoding),
        [sanitize_address(a, encoding) for a in message.recipients()],
        message.message().as_bytes(linesep="\r\n"),
        message,
    )


def _unreachable(error: Exception) -> bool:
    """Refused, timed out, dropped, or refused at the greeting: no message can get through."""
    if isinstance(error, smtplib.SMTPConnectError | smtplib.SMTPServerDisconnected):
        return True
    return not isinstance(error, smtplib.SMTPResponseException | smtplib.SMTPRecipientsRefused)


class Postman(threading.Thread):
    def __init__(self, on_accepted: Callable[[object], None] | None = None) -> None:
        super().__init__(name="digest-postman", daemon=True)
        self.on_accepted = on_accepted
        self.inbox: queue.Queue = queue.Queue(maxsize=2)
        self.results: queue.Queue = queue.Queue()
        self.unreachable = threading.Event()
        self.unreachable_error: Exception | None = None
        self.backend = None
        self.smtp_seconds = 0.0

    # Called from the sending thread -------------------------------------------------------

    def post(self, item: Letter) -> None:
        self.inbox.put(item)

    def finish(self) -> None:
        self.inbox.put(None)
        self.join()

    def done(self) -> list[tuple[object, object]]:
        """(run, None | exception | SKIPPED) for every letter handled since the last call."""
        out = []
        while True:
            try:
                out.append(self.results.get_nowait())
            except queue.Empty:
                return out

    # The thread ---------------------------------------------------------------------------

    def run(self) -> None:
        try:
            while (item := self.inbox.get()) is not None:
                if self.unreachable.is_set():
                    self.results.put((item.run, SKIPPED))
                    continue
                start = time.perf_counter()
                try:
                    self._send(item)
                    self._accepted(item.run)
                    self.results.put((item.run, None))
                except (smtplib.SMTPException, OSError, BackendUnavailable) as e:
                    if not isinstance(
                        e, smtplib.SMTPResponseException | smtplib.SMTPRecipientsRefused
                    ):
                        # No usable connection: the rest would fail too.
                        self.unreachable_error = e
                        self.unreachable.set()
                    self._close()
                    self.results.put((item.run, e))
                except Exception as e:  # this message only (an address smtplib cannot encode)
                    self._close()  # the connection may be mid-transaction
                    self.results.put((item.run, e))
                self.smtp_seconds += time.perf_counter() - start
        finally:
            self._close()
            if self.on_accepted is not None:
                connection.close()  # this thread's own

    def _accepted(self, run) -> None:
        if self.on_accepted is None:
            return
        try:
            self.on_accepted(run)
        except Exception:  # the database: the sending thread marks it with the result
            log.exception("digest %s: could not mark it sent at once", getattr(run, "pk", run))

    def _open(self) -> None:
        try:
            self.backend = get_connection(fail_silently=False)
            self.backend.open()
        except (smtplib.SMTPException, OSError):
            self.backend = None
            raise
        except Exception as e:  # misconfigured: a bad backend path, no EMAIL_FILE_PATH, ...
            self.backend = None
            raise BackendUnavailable(f"{type(e).__name__}: {e}") from e

    def _send(self, item: Letter) -> None:
        for attempt in (1, 2):
            if self.backend is None:
                self._open()
            if not isinstance(self.backend, SMTPBackend):
                if self.backend.send_messages([item.message]) != 1:
                    raise NotSent("the email backend did not send it")
                return
            try:
                self.backend.connection.sendmail(item.from_email, item.recipients, item.data)
                return
            except smtplib.SMTPServerDisconnected:  # an idle connection the server closed
                self._close()
                if attempt == 2:
                    raise

    def _close(self) -> None:
        if self.backend is not None:
            try:
                self.backend.close()
            except Exception:  # closing a broken connection is best effort
                pass
            self.backend = None
