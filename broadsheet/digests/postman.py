"""The SMTP side of sending: one connection, in a thread of its own.

Composing and rendering a digest is Python work; handing it to the server is mostly waiting
for the server's replies, during which Python releases the GIL. With the two in different
threads they overlap, one message being rendered while the previous one is on the wire. The
postman never touches the database: it reports each result back, and the sending thread
records it (so the database work stays on one connection, in one thread). Its inbox holds
at most two messages, so little is ever in flight.
"""

from __future__ import annotations

import queue
import smtplib
import threading
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.mail import get_connection
from django.core.mail.message import sanitize_address

SKIPPED = object()  # not attempted: the server was found unreachable before it


@dataclass
class Letter:
    run: object  # the DigestRun
    from_email: str
    recipients: list[str]
    data: bytes


def letter(run, message) -> Letter:
    """The envelope and bytes Django's SMTP backend would send, built in the caller's thread."""
    encoding = message.encoding or settings.DEFAULT_CHARSET
    return Letter(
        run,
        sanitize_address(message.from_email, encoding),
        [sanitize_address(a, encoding) for a in message.recipients()],
        message.message().as_bytes(linesep="\r\n"),
    )


def _unreachable(error: Exception) -> bool:
    """Refused, timed out, dropped, or refused at the greeting: no message can get through."""
    if isinstance(error, smtplib.SMTPConnectError | smtplib.SMTPServerDisconnected):
        return True
    return not isinstance(error, smtplib.SMTPResponseException | smtplib.SMTPRecipientsRefused)


class Postman(threading.Thread):
    def __init__(self) -> None:
        super().__init__(name="digest-postman", daemon=True)
        self.inbox: queue.Queue = queue.Queue(maxsize=2)
        self.results: queue.Queue = queue.Queue()
        self.unreachable = threading.Event()
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
                    self.results.put((item.run, None))
                except (smtplib.SMTPException, OSError) as e:
                    if not isinstance(
                        e, smtplib.SMTPResponseException | smtplib.SMTPRecipientsRefused
                    ):
                        self.unreachable.set()  # no usable connection: the rest would fail too
                    self._close()
                    self.results.put((item.run, e))
                self.smtp_seconds += time.perf_counter() - start
        finally:
            self._close()

    def _send(self, item: Letter) -> None:
        for attempt in (1, 2):
            if self.backend is None:
                self.backend = get_connection(fail_silently=False)
                self.backend.open()
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
