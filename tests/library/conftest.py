"""Library import tests use tests/ingest's replay server for arXiv, Zotero and other sites."""

from tests.ingest.conftest import replay as replay  # noqa: F401 (fixtures)
from tests.ingest.conftest import sources as sources  # noqa: F401
