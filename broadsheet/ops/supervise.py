"""`broadsheet serve --with-worker`: the job worker as a child of the web server's master.

One command then runs the whole site (what ./run does): the master starts `broadsheet worker`
once it listens, starts it again if it exits (at most once every RESTART_SECONDS), and stops
it when the server stops (Ctrl-C, SIGTERM). The child also asks the kernel for SIGTERM when
the master dies without cleaning up (SIGKILL), so no worker outlives its server.
"""

from __future__ import annotations

import ctypes
import logging
import signal
import subprocess
import sys
import time
from pathlib import Path

log = logging.getLogger("broadsheet.jobs")

RESTART_SECONDS = 10.0
STOP_SECONDS = 10.0
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):  # not Linux: the master's stop() still ends it
        pass


def worker_command(name: str = "worker") -> list[str]:
    """`broadsheet <name>` with the same interpreter and installation as this process."""
    script = Path(sys.executable).parent / "broadsheet"
    if script.exists():
        return [str(script), name]
    return [sys.executable, "-m", "broadsheet", name]


class JobWorker:
    """A supervised `broadsheet worker` child process (or another long-running command:
    `broadsheet search-follow`, which keeps a PostgreSQL node's search indexes)."""

    def __init__(self, command: list[str] | None = None, what: str = "the job worker") -> None:
        self.command = command or worker_command()
        self.what = what
        self.process: subprocess.Popen | None = None
        self.started_at = 0.0
        self.stopping = False

    def start(self) -> None:
        self.started_at = time.monotonic()
        # Output goes where the server's goes: console mail and job logs show beside requests.
        self.process = subprocess.Popen(self.command, preexec_fn=_die_with_parent)
        log.info("started %s (pid %s)", self.what, self.process.pid)

    def keep_alive(self) -> None:
        """Start the worker again if it exited (called from the master's loop, every second)."""
        if self.stopping or self.process is None or self.process.poll() is None:
            return
        if time.monotonic() - self.started_at < RESTART_SECONDS:
            return
        log.warning(
            "%s (pid %s) exited with %s; starting it again",
            self.what,
            self.process.pid,
            self.process.returncode,
        )
        self.start()

    def stop(self) -> None:
        self.stopping = True
        process = self.process
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
