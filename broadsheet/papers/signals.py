"""Signals other apps listen to, so `papers` and `ingest` need not know about them."""

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager

from django.dispatch import Signal

# Sent after papers were created or changed (ingest batches, the sample loader, the admin),
# inside the transaction that changed them, with `paper_ids`: a list of Paper primary keys,
# and optionally `texts`: {paper id: (title, abstract, author names)} as just stored, for
# some or all of them, so that receivers need not read back what the sender had in hand.
# The search app keeps its lexical index in step from it.
papers_changed = Signal()

# Context managers other apps register to wrap a long run of changes (an import, batch
# after batch): the search app writes its SQLite-mode lexical index in a second process inside one.
bulk_change_hooks: list[Callable[[], AbstractContextManager]] = []


@contextmanager
def bulk_changes() -> Iterator[None]:
    with ExitStack() as stack:
        for hook in bulk_change_hooks:
            stack.enter_context(hook())
        yield
