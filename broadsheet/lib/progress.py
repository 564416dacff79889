"""Progress bars for long jobs: drawn on a terminal, silent in logs and tests."""

from __future__ import annotations

import sys

from tqdm import tqdm


def progress_bar(desc: str, total: int | None = None, unit: str = "papers"):
    # disable=None turns the bar off when stderr is not a terminal (cron, CI, pipes).
    return tqdm(
        desc=desc, total=total, unit=f" {unit}", disable=None, file=sys.stderr, smoothing=0.1
    )
