"""A real Agora server (`python -m agora serve`) in a subprocess, for end-to-end tests."""

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from agora.settings import Settings


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def agora_env(settings: Settings, **extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("AGORA_")}
    assert settings.secret_key is not None
    env.update(
        {
            "AGORA_ENV": "test",
            "AGORA_DATA_DIR": str(settings.data_dir),
            "AGORA_DATABASE_URL": settings.resolved_database_url,
            "AGORA_SECRET_KEY": settings.secret_key.get_secret_value(),
            "AGORA_LOG_LEVEL": "warning",
            **extra,
        }
    )
    return env


@dataclass
class Server:
    base: str
    process: subprocess.Popen[bytes]
    log: Path

    def wait_for_exit(self, timeout: float = 10) -> int:
        return self.process.wait(timeout=timeout)


@contextmanager
def serving(
    settings: Settings, log: Path, factory: str | None = None, **extra: str
) -> Iterator[Server]:
    """Start a server, wait until /health answers, yield it, stop it (by its own PID).

    Without `factory` it is `agora serve`; with one (`module:function`), the same uvicorn
    options serve that app factory (the tests' chassis routes, say).
    """
    port = free_port()
    command = (
        [sys.executable, "-m", "agora", "serve", "--port", str(port)]
        if factory is None
        else [sys.executable, "-m", "tests.support.server", factory, str(port)]
    )
    with log.open("wb") as output:
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            command,
            env=agora_env(settings, **extra),
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 30
            while True:
                if process.poll() is not None:
                    raise RuntimeError(f"server exited: {log.read_text()}")
                try:
                    if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"server did not start: {log.read_text()}")
                time.sleep(0.1)
            yield Server(base, process, log)
        finally:
            if process.poll() is None:
                process.terminate()
                process.wait(timeout=15)


@contextmanager
def working(settings: Settings, log: Path, **extra: str) -> Iterator[subprocess.Popen[bytes]]:
    """Run `agora worker` (relay, consumers, dispatcher) until the block ends; stopped by its
    own PID (a test may kill it first)."""
    with log.open("ab") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "agora", "worker"],
            env=agora_env(settings, **extra),
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        try:
            yield process
        finally:
            if process.poll() is None:
                process.terminate()
                process.wait(timeout=15)


@contextmanager
def running_server(
    settings: Settings, log: Path, factory: str | None = None, **extra: str
) -> Iterator[str]:
    """`serving`, yielding only the base URL."""
    with serving(settings, log, factory, **extra) as server:
        yield server.base


if __name__ == "__main__":
    import uvicorn

    from agora.cli import uvicorn_options

    uvicorn.run(sys.argv[1], factory=True, **uvicorn_options(Settings(), port=int(sys.argv[2])))
