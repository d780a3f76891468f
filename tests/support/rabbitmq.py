"""A private RabbitMQ node for fault tests (the machine's shared one is never stopped).

`private_rabbitmq(tmp_path)` starts `rabbitmq-server` with its own node name, port, data and
cookie in `tmp_path`, and yields a handle that can stop it (by the PID it started) and start it
again on the same port and data, as a broker that goes away and comes back would. The Erlang
port mapper (`epmd`) it registers with is the machine's, already running for the shared broker.
Starting and stopping block: async tests call them in a thread.
"""

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from tests.support.server import free_port

SERVER = Path("/usr/lib/rabbitmq/bin/rabbitmq-server")


def available() -> bool:
    return SERVER.exists() and shutil.which("erl") is not None


def _reachable(port: int) -> bool:
    import socket

    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


class PrivateRabbit:
    def __init__(self, home: Path) -> None:
        self.home = home
        self.port = free_port()
        self.name = f"agora-fault-{self.port}@localhost"
        self.process: subprocess.Popen[bytes] | None = None
        (home / "mnesia").mkdir(parents=True, exist_ok=True)
        (home / "log").mkdir(exist_ok=True)
        (home / "enabled_plugins").write_text("[].\n")
        (home / "rabbitmq.conf").write_text("loopback_users = none\n")

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}/"

    def start(self, timeout: float = 60) -> None:
        home = self.home
        env = {
            **os.environ,
            "HOME": str(home),
            "RABBITMQ_NODENAME": self.name,
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(free_port()),
            "RABBITMQ_MNESIA_BASE": str(home / "mnesia"),
            "RABBITMQ_LOG_BASE": str(home / "log"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(home / "enabled_plugins"),
            "RABBITMQ_CONFIG_FILE": str(home / "rabbitmq"),
            "RABBITMQ_PID_FILE": str(home / "pid"),
        }
        with (home / "server.log").open("ab") as log:
            self.process = subprocess.Popen(  # noqa: S603 - the machine's own RabbitMQ
                [str(SERVER)], env=env, stdout=log, stderr=subprocess.STDOUT, cwd=home
            )
        deadline = time.monotonic() + timeout
        while not _reachable(self.port):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()  # whatever did start goes
                raise RuntimeError((home / "server.log").read_text()[-2000:])
            time.sleep(0.2)

    def stop(self) -> None:
        """Stop the node (its Erlang VM, then the script that started it), by their PIDs."""
        if self.process is None:
            return
        pid_file = self.home / "pid"
        if pid_file.exists():
            with suppress(ProcessLookupError, ValueError):
                os.kill(int(pid_file.read_text().strip()), signal.SIGKILL)
            pid_file.unlink()
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=30)
        self.process = None
        deadline = time.monotonic() + 10
        while _reachable(self.port) and time.monotonic() < deadline:
            time.sleep(0.1)


@contextmanager
def private_rabbitmq(home: Path) -> Iterator[PrivateRabbit]:
    rabbit = PrivateRabbit(home)
    rabbit.start()
    try:
        yield rabbit
    finally:
        rabbit.stop()
