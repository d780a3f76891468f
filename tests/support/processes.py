"""Private servers for fault tests: a PostgreSQL cluster and a Redis, started and stopped here.

Fault tests freeze (SIGSTOP) or kill their own servers, never the machine's shared ones. Each
server runs in its own session (process group), so that freezing it freezes every process it
started (PostgreSQL's backends too), and stopping it stops exactly what the test started.
"""

import contextlib
import glob
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.server import free_port


def _missing(what: str) -> None:
    """Skip where the machine lacks a server binary; CI must have it (fail, don't skip)."""
    message = f"{what} is not installed on this machine"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def _wait_for_port(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited: {log.read_text(errors='replace')}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise RuntimeError(f"server did not listen on {port}: {log.read_text(errors='replace')}")


def _children(pid: int) -> list[int]:
    """Processes whose parent is `pid`, and theirs (from /proc)."""
    parents: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            # The command name (2nd field) may hold spaces: the parent follows the last ')'.
            fields = stat.read_text().rsplit(")", 1)[1].split()
            parents.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, pending = [], [pid]
    while pending:
        for child in parents.get(pending.pop(), []):
            found.append(child)
            pending.append(child)
    return found


@dataclass
class Private:
    """A server process (and the processes it started) that this test owns."""

    process: subprocess.Popen[bytes]
    port: int
    command: list[str]
    log: Path
    user: str | None = None
    """Who runs the server (PostgreSQL refuses root)."""

    def _signal_all(self, number: signal.Signals) -> None:
        # PostgreSQL's backends leave the postmaster's process group (setsid), so each of
        # them is signalled by its PID; the server first, so that it forks no new ones.
        for pid in [self.process.pid, *_children(self.process.pid)]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, number)

    def freeze(self) -> None:
        """Stop every process of the server (SIGSTOP): it accepts, but never answers."""
        self._signal_all(signal.SIGSTOP)

    def thaw(self) -> None:
        self._signal_all(signal.SIGCONT)

    def restart(self) -> None:
        """Stop the server and start it again, same command and port."""
        self.stop()
        with self.log.open("ab") as output:
            self.process = subprocess.Popen(  # noqa: S603
                self.command,
                stdout=output,
                stderr=subprocess.STDOUT,
                user=self.user,
                start_new_session=True,
            )
        _wait_for_port(self.port, self.process, self.log)

    def stop(self) -> None:
        if self.process.poll() is not None:
            return
        self.thaw()
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self._signal_all(signal.SIGKILL)
            self.process.wait(timeout=10)


def _postgres_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


@contextlib.contextmanager
def private_postgres() -> Iterator[Private]:
    """A fresh PostgreSQL cluster on a free port (trust auth, user and database `postgres`).

    initdb refuses to run as root: as root, the cluster belongs to the `postgres` user.
    """
    bindir = _postgres_bin()
    if bindir is None:
        _missing("PostgreSQL (initdb)")
        raise AssertionError("unreachable")
    user = "postgres" if os.geteuid() == 0 else None
    root = Path(tempfile.mkdtemp(prefix="agora-pg-"))
    data, log = root / "data", root / "postgres.log"
    if user is not None:
        shutil.chown(root, user)
    port = free_port()
    try:
        subprocess.run(  # noqa: S603
            [str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-N"],
            check=True,
            capture_output=True,
            user=user,
        )
        command = [
            str(bindir / "postgres"),
            *("-D", str(data), "-p", str(port), "-k", str(root)),
            *("-c", "listen_addresses=127.0.0.1", "-c", "fsync=off"),
        ]
        with log.open("wb") as output:
            process = subprocess.Popen(  # noqa: S603
                command, stdout=output, stderr=subprocess.STDOUT, user=user, start_new_session=True
            )
        server = Private(process, port, command, log, user)
        try:
            _wait_for_port(port, process, log)
            _wait_until_accepting(bindir, port)
            yield server
        finally:
            server.stop()
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _wait_until_accepting(bindir: Path, port: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        ready = subprocess.run(  # noqa: S603
            [str(bindir / "pg_isready"), "-h", "127.0.0.1", "-p", str(port)],
            capture_output=True,
            check=False,
        )
        if ready.returncode == 0:
            return
        time.sleep(0.1)
    raise RuntimeError("PostgreSQL did not accept connections")


@contextlib.contextmanager
def private_redis() -> Iterator[Private]:
    """A Redis on a free port that keeps nothing on disk."""
    binary = shutil.which("redis-server")
    if binary is None:
        _missing("Redis (redis-server)")
        raise AssertionError("unreachable")
    root = Path(tempfile.mkdtemp(prefix="agora-redis-"))
    log = root / "redis.log"
    port = free_port()
    command = [
        binary,
        *("--port", str(port), "--bind", "127.0.0.1"),
        *("--save", "", "--appendonly", "no", "--dir", str(root)),
    ]
    try:
        with log.open("wb") as output:
            process = subprocess.Popen(  # noqa: S603
                command, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
            )
        server = Private(process, port, command, log)
        try:
            _wait_for_port(port, process, log)
            yield server
        finally:
            server.stop()
    finally:
        shutil.rmtree(root, ignore_errors=True)
