"""End to end against a real uvicorn process: what only a real server and socket can show."""

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from agora.settings import Settings
from tests.support.server import agora_env, running_server

pytestmark = pytest.mark.slow  # real servers of its own, started and stopped

MiB = 1024 * 1024


@pytest.fixture(scope="module")
def server(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    log = tmp_path_factory.mktemp("server") / "server.log"
    with running_server(settings, log) as base:
        yield base


@pytest.fixture(scope="module")
def chassis_server(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    log = tmp_path_factory.mktemp("chassis-server") / "server.log"
    with running_server(settings, log, factory="tests.support.chassis:create_chassis_app") as base:
        yield base


def test_real_server_headers(server: str) -> None:
    response = httpx.get(f"{server}/health")
    assert response.status_code == 200
    assert "server" not in response.headers  # no version banner
    head = httpx.head(f"{server}/health")
    assert head.status_code == 200 and head.content == b""


def _raw_post(
    base: str, headers: dict[str, str], body_chunks: Iterator[bytes]
) -> tuple[bytes, int]:
    """Send a POST over a raw socket; return (response bytes, body bytes we managed to send)."""
    url = urlsplit(base)
    sent = 0
    with socket.create_connection((url.hostname, url.port), timeout=10) as sock:
        head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        sock.sendall(f"POST /api/v1/_chassis/echo HTTP/1.1\r\nHost: x\r\n{head}\r\n".encode())
        try:
            for chunk in body_chunks:
                sock.sendall(chunk)
                sent += len(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass
        sock.settimeout(10)
        response = b""
        try:
            while b"\r\n\r\n" not in response:
                data = sock.recv(65536)
                if not data:
                    break
                response += data
        except (ConnectionResetError, TimeoutError):
            pass
    return response, sent


def test_fifty_megabyte_upload_is_refused_without_being_read(chassis_server: str) -> None:
    started = time.monotonic()

    def chunks() -> Iterator[bytes]:
        for _ in range(50):
            yield b"x" * MiB

    response, _ = _raw_post(
        chassis_server,
        {"Content-Type": "application/json", "Content-Length": str(50 * MiB)},
        chunks(),
    )
    assert response.startswith(b"HTTP/1.1 413"), response[:200]
    assert time.monotonic() - started < 10


def test_chunked_fifty_megabytes_is_cut_off(chassis_server: str) -> None:
    def chunks() -> Iterator[bytes]:
        piece = b"x" * (256 * 1024)
        for _ in range(200):
            yield f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
        yield b"0\r\n\r\n"

    response, sent = _raw_post(
        chassis_server,
        {"Content-Type": "application/json", "Transfer-Encoding": "chunked"},
        chunks(),
    )
    assert response.startswith(b"HTTP/1.1 413"), response[:200]
    assert sent < 50 * MiB  # the server stopped reading long before the end
    assert b"x-request-id" in response.lower()


def _raw_request(base: str, chunks: Iterator[bytes]) -> tuple[bytes, int]:
    """Stream a raw request; return (what the server answered, bytes we managed to send)."""
    url = urlsplit(base)
    sent = 0
    response = b""
    with socket.create_connection((url.hostname, url.port), timeout=10) as sock:
        try:
            for chunk in chunks:
                sock.sendall(chunk)
                sent += len(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass
        try:
            while data := sock.recv(65536):
                response += data
        except (ConnectionResetError, TimeoutError):
            pass
    return response, sent


def test_a_sixteen_megabyte_header_is_refused_while_it_streams_in(server: str) -> None:
    def chunks() -> Iterator[bytes]:
        yield b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: "
        for _ in range(16 * 16):
            yield b"a" * (64 * 1024)
        yield b"\r\n\r\n"

    response, sent = _raw_request(server, chunks())
    assert response.startswith(b"HTTP/1.1 431"), response[:200]
    assert sent < 16 * MiB  # the server stopped reading long before the end
    body = json.loads(response.split(b"\r\n\r\n", 1)[1])
    assert body["statusCode"] == 431 and body["errors"][0]["code"] == "headers_too_large"
    assert b"x-content-type-options: nosniff" in response.lower()


def test_a_hundred_thousand_headers_are_refused(server: str) -> None:
    def chunks() -> Iterator[bytes]:
        yield b"GET /health HTTP/1.1\r\nHost: x\r\n"
        for batch in range(100):
            yield b"".join(b"X-%d-%d: 1\r\n" % (batch, n) for n in range(1000))
        yield b"\r\n"

    response, _ = _raw_request(server, chunks())
    assert response.startswith(b"HTTP/1.1 431"), response[:200]


def test_an_overlong_request_line_is_414(server: str) -> None:
    path = b"/api/v1/products?q=" + b"a" * (64 * 1024)
    response, _ = _raw_request(server, iter([b"GET " + path + b" HTTP/1.1\r\nHost: x\r\n\r\n"]))
    assert response.startswith(b"HTTP/1.1 414"), response[:200]


def test_garbage_instead_of_http_gets_the_error_envelope(server: str) -> None:
    response, _ = _raw_request(server, iter([b"\x16\x03\x01 not http at all\r\n\r\n"]))
    assert response.startswith(b"HTTP/1.1 400"), response[:200]
    body = json.loads(response.split(b"\r\n\r\n", 1)[1])
    assert body["success"] is False and body["errors"][0]["code"] == "malformed_request"


def test_normal_requests_pass_the_bounded_protocol(server: str) -> None:
    headers = {f"x-filler-{n}": "v" * 100 for n in range(60)}
    with httpx.Client(base_url=server) as client:
        for _ in range(3):  # keep-alive: the limits are per request, not per connection
            assert client.get("/health", headers=headers).status_code == 200
        created = client.post("/api/v1/auth/login", json={"email": "a@b.c", "password": "x"})
        assert created.status_code == 401


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
browser = pytest.mark.skipif(
    CHROMIUM is None and not os.environ.get("AGORA_TEST_REQUIRE_BROWSER"),
    reason="no chromium on this machine (CI sets AGORA_TEST_REQUIRE_BROWSER)",
)


def _render(url: str, tmp_path: Path) -> str:
    assert CHROMIUM, "AGORA_TEST_REQUIRE_BROWSER is set but chromium is not installed"
    result = subprocess.run(  # noqa: S603
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={tmp_path}",
            "--virtual-time-budget=15000",
            "--dump-dom",
            url,
        ],
        capture_output=True,
        timeout=90,
        check=True,
    )
    return result.stdout.decode()


@browser
def test_swagger_ui_renders_under_the_csp(server: str, tmp_path: Path) -> None:
    dom = _render(f"{server}/docs", tmp_path)
    assert 'class="swagger-ui"' in dom
    assert 'data-path="/health"' in dom and 'data-path="/ready"' in dom


@browser
def test_redoc_renders_under_the_csp(server: str, tmp_path: Path) -> None:
    dom = _render(f"{server}/redoc", tmp_path)
    assert "/ready" in dom and "api-content" in dom


def _agora(settings: Settings, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603
        [sys.executable, "-m", "agora", *args],
        env=agora_env(settings, **extra),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_cli_openapi_seed_and_migrate(settings: Settings, tmp_path: Path) -> None:
    openapi = _agora(settings, "openapi")
    assert openapi.returncode == 0, openapi.stderr
    assert json.loads(openapi.stdout)["info"]["title"] == "Agora"

    fresh = f"sqlite+aiosqlite:///{tmp_path}/cli.db"
    migrated = _agora(settings, "migrate", AGORA_DATABASE_URL=fresh)
    assert migrated.returncode == 0, migrated.stdout + migrated.stderr
    first = _agora(settings, "seed", AGORA_DATABASE_URL=fresh)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "Demo admin created: admin@agora.example / " in first.stdout
    again = _agora(settings, "seed", AGORA_DATABASE_URL=fresh)  # idempotent
    assert again.returncode == 0, again.stdout + again.stderr
    # The demo password (documented in the README) is said on every run, not only the first.
    assert "Demo admin: admin@agora.example / agora-demo-admin-2026 (already there)." in (
        again.stdout.splitlines()
    )


def test_worker_runs_every_job_once(settings: Settings) -> None:
    result = _agora(settings, "worker", "--once")
    assert result.returncode == 0, result.stdout + result.stderr
    for job in ("expire_unpaid_orders", "settle_payments", "purge_idempotency_keys"):
        assert f"{job}: " in result.stdout
    assert "events published: " in result.stdout and "webhooks sent: " in result.stdout


def test_create_admin_reads_the_password_from_the_environment(
    settings: Settings, tmp_path: Path
) -> None:
    fresh = f"sqlite+aiosqlite:///{tmp_path}/admin.db"
    assert _agora(settings, "migrate", AGORA_DATABASE_URL=fresh).returncode == 0
    env = {"AGORA_DATABASE_URL": fresh, "AGORA_ADMIN_PASSWORD": "tundra-violet-anchor-8"}
    created = _agora(settings, "create-admin", "--email", "Root@Example.com", **env)
    assert created.returncode == 0, created.stdout + created.stderr
    assert "Admin Root@Example.com created" in created.stdout
    duplicate = _agora(settings, "create-admin", "--email", "root@example.com", **env)
    assert duplicate.returncode == 1 and "already exists" in duplicate.stderr
    weak = _agora(
        settings,
        "create-admin",
        "--email",
        "x@example.com",
        AGORA_DATABASE_URL=fresh,
        AGORA_ADMIN_PASSWORD="password1",
    )
    assert weak.returncode == 1 and "too common" in weak.stderr


def test_cli_help_shows_defaults_and_no_type_placeholders(settings: Settings) -> None:
    serve = _agora(settings, "serve", "--help", COLUMNS="100")
    assert serve.returncode == 0, serve.stderr
    for shown in ("AGORA_HOST or 127.0.0.1", "AGORA_PORT or 8000", "AGORA_WORKERS or 1"):
        assert shown in " ".join(serve.stdout.split()), serve.stdout
    for command in ("serve", "seed", "worker", "create-admin", "openapi"):
        helped = _agora(settings, command, "--help", COLUMNS="100")
        assert "<bool>" not in helped.stdout and "<str>" not in helped.stdout, helped.stdout
