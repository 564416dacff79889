"""Signals other apps listen to, so `papers` and `ingest` need not know about them."""

from django.dispatch import Signal

# Sent after papers were created or changed (ingest batches, the sample loader, the admin),
# inside the transaction that changed them, with `paper_ids`: a list of Paper primary keys.
# The search app keeps its lexical index in step from it.
papers_changed = Signal()
