"""Shared fixtures: one fresh, migrated database per run, an app on it, and HTTP clients.

Integration tests go through HTTP (httpx on the ASGI app) into the real database; they use
unique values (`unique()`) instead of cleaning up, so they can run in any order.
"""

import secrets
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from agora.app import create_app
from agora.platform.clock import ShiftedClock
from agora.platform.migrate import upgrade
from agora.settings import Settings
from tests.support import backends
from tests.support.auth import Caller, make_caller

TEST_SECRET = "test-secret-key-that-is-long-enough-0123456789"


def pytest_report_header() -> str:
    return f"agora backend: {backends.BACKEND}"


_DESELECTED: dict[str, int] = {}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The SQLite pass runs what the embedded defaults can run; the other pass runs the rest."""
    keep, drop = [], []
    for item in items:
        reason = None
        if item.get_closest_marker("postgres_only") and backends.BACKEND != "postgres":
            reason = "need PostgreSQL (run with AGORA_TEST_BACKEND=postgres)"
        elif item.get_closest_marker("needs_redis") and backends.REDIS_URL is None:
            reason = "need Redis (the PostgreSQL pass, with AGORA_TEST_REDIS_URL)"
        elif item.get_closest_marker("needs_broker") and backends.BROKER_URL is None:
            reason = "need RabbitMQ (the PostgreSQL pass, with AGORA_TEST_BROKER_URL)"
        if reason is None:
            keep.append(item)
        else:
            drop.append(item)
            _DESELECTED[reason] = _DESELECTED.get(reason, 0) + 1
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Say why tests were deselected, not only how many (`make test` runs them on PostgreSQL)."""
    for reason, count in sorted(_DESELECTED.items()):
        terminalreporter.write_line(f"deselected {count}: {reason}")
    others = len(terminalreporter.stats.get("deselected", [])) - sum(_DESELECTED.values())
    if others > 0:
        option = terminalreporter.config.option
        chosen = [
            f"-{flag} {value!r}"
            for flag, value in (("m", option.markexpr), ("k", option.keyword))
            if value
        ]
        terminalreporter.write_line(
            f"deselected {others}: by {' and '.join(chosen) or 'the command line'}"
        )


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("agora-data")


@pytest.fixture(scope="session")
def test_database(data_dir: Path) -> Iterator[backends.TestDatabase]:
    database = backends.create_database(str(data_dir))
    try:
        yield database
    finally:
        backends.drop_database(database)


@pytest.fixture(scope="session")
def settings(test_database: backends.TestDatabase, data_dir: Path) -> Settings:
    settings = Settings(
        _env_file=None,
        env="test",
        data_dir=data_dir,
        database_url=test_database.url,
        secret_key=TEST_SECRET,
        log_level="warning",
        cors_origins=["https://shop.example"],
        db_pool_size=20,
        redis_url=backends.REDIS_URL,
        redis_prefix=f"agora-test-{secrets.token_hex(4)}:",
        broker_url=backends.BROKER_URL,
        broker_prefix=f"agora-test-{secrets.token_hex(4)}",
        # Limits high enough for the suite; tests of the limits build apps with real ones.
        rate_limit_anonymous="100000/minute",
        rate_limit_authenticated="100000/minute",
        rate_limit_auth="100000/minute",
        rate_limit_login="100000/minute",
        # Cheap hashing keeps the suite fast; the parameters are settings like any other.
        password_hash_time_cost=1,
        password_hash_memory_kib=1024,
        password_hash_parallelism=1,
        # A quick sandbox and short provider timeouts keep payment tests fast.
        sandbox_latency_ms=2,
        payment_timeout_seconds=0.5,
        # Tests run jobs and publish events when they mean to (`app.state.background`); the
        # tests of the background build apps that run it.
        jobs_enabled=False,
    )
    upgrade(settings)
    return settings


@pytest.fixture(scope="session", autouse=True)
async def broker_queues(settings: Settings) -> AsyncIterator[None]:
    """The PostgreSQL pass declares its consumers' queues on the shared RabbitMQ: remove them."""
    yield
    if settings.broker_url:
        await backends.delete_queues(
            settings.broker_url,
            [f"{settings.broker_prefix}.{name}" for name in ("catalog-cache", "webhooks")],
        )


@pytest.fixture(scope="session")
def make_settings(settings: Settings) -> Callable[..., Settings]:
    """Test settings with some values changed (validated like real configuration)."""

    def make(**changes: Any) -> Settings:
        values = {**settings.model_dump(), **changes}
        return Settings(_env_file=None, **values)

    return make


@pytest.fixture(scope="session")
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    application = create_app(settings, clock=ShiftedClock())  # tests move it with .offset
    async with LifespanManager(application):
        yield application


def http_client(app: Any, base_url: str = "http://agora.test") -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=base_url)


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with http_client(app) as session:
        yield session


@pytest.fixture
async def secure_client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """Over https, so that the client keeps and sends `Secure` cookies (the refresh token)."""
    async with http_client(app, "https://agora.test") as session:
        yield session


@pytest.fixture
async def admin(app: FastAPI, client: httpx.AsyncClient) -> Caller:
    return await make_caller(app, client, "admin")


@pytest.fixture
async def editor(app: FastAPI, client: httpx.AsyncClient) -> Caller:
    return await make_caller(app, client, "editor")


@pytest.fixture
async def customer(app: FastAPI, client: httpx.AsyncClient) -> Caller:
    return await make_caller(app, client, "customer")
