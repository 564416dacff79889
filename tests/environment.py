"""What a bare `pytest` needs from the environment, filled in before Django loads its settings.

pyproject's pytest options load this module as a plugin (`-p tests.environment`), so it runs
before pytest-django reads broadsheet.settings. ./test and .ci/run set these variables
themselves (and clear the developer's BROADSHEET_* first); here a variable that is already set
wins. The key exists only in test runs: this module is not part of the installed package.
"""

from __future__ import annotations

import os
import shutil
import tempfile

import pytest

TEST_SECRET_KEY = "test-only-secret-key-never-use-it-in-production"

os.environ.setdefault("BROADSHEET_SECRET_KEY", TEST_SECRET_KEY)

# A data directory of the run's own, never ./data: the tests write search indexes and
# thumbnails there, which would land in the developer's local site.
_made_data_dir = ""
if not os.environ.get("BROADSHEET_DATA_DIR"):
    _made_data_dir = tempfile.mkdtemp(prefix="broadsheet-test-")
    os.environ["BROADSHEET_DATA_DIR"] = _made_data_dir
# The int8 query model is made once (about 5 s) and shared by every data directory the tests
# make, their child processes' included (./test shares one between its two runs).
os.environ.setdefault(
    "BROADSHEET_MODEL_DIR", os.path.join(os.environ["BROADSHEET_DATA_DIR"], "models")
)
# Under pytest-xdist each worker process has a data directory (and so a SQLite test database
# and search indexes) of its own inside the run's.
if worker := os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ["BROADSHEET_DATA_DIR"] = os.path.join(os.environ["BROADSHEET_DATA_DIR"], worker)


def pytest_unconfigure(config: pytest.Config) -> None:
    if _made_data_dir:
        shutil.rmtree(_made_data_dir, ignore_errors=True)
