"""A database that stops answering costs each request at most AGORA_DB_TIMEOUT, then a 503.

Seen before the bound: PostgreSQL frozen with SIGSTOP for 45 s, 8 of 40 requests hung the whole
45 s (the server's statement_timeout cannot fire in a frozen server). These tests freeze a
private PostgreSQL cluster (or hold SQLite's write lock), fire 40 requests, and time them.
"""

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager

from agora.app import create_app
from agora.platform.migrate import upgrade
from agora.settings import Settings
from tests.support.assertions import assert_error
from tests.support.auth import Caller, make_caller
from tests.support.catalog import make_product
from tests.support.orders import order_body
from tests.support.processes import private_postgres
from tests.support.refusing_postgres import refusing_postgres

pytestmark = pytest.mark.slow  # real servers of its own, started and stopped

BOUND = 2.0  # AGORA_DB_TIMEOUT for these tests (default 5): the rule is the same, faster
SLACK = 1.5  # scheduling on a loaded two-core machine


@asynccontextmanager
async def _agora(
    make_settings: Callable[..., Settings], database_url: str
) -> AsyncIterator[tuple[httpx.AsyncClient, dict[str, Any]]]:
    settings = make_settings(
        database_url=database_url, db_timeout=BOUND, redis_url=None, jobs_enabled=False
    )
    await asyncio.to_thread(upgrade, settings)
    app = create_app(settings)
    async with LifespanManager(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://agora.test") as client:
            admin = await make_caller(app, client, "admin")
            editor = await make_caller(app, client, "editor")
            customer = await make_caller(app, client, "customer")
            product = await make_product(client, editor, admin=admin, stock=100)
            key = await client.post(
                "/api/v1/api-keys",
                json={"name": "frozen", "scopes": ["orders:read"]},
                headers=admin.headers,
            )
            api_key = {"X-API-Key": key.json()["data"]["key"]}
            yield client, {"customer": customer, "product": product, "api_key": api_key}


def _requests(
    client: httpx.AsyncClient, customer: Caller, product: dict[str, Any], api_key: dict[str, str]
) -> list[Any]:
    """Sixty requests that each need the database: reads, writes, sign-in, a keyed write (the
    key is claimed before the route runs) and an API key looked up before routing."""
    calls: list[Any] = []
    for n in range(10):
        calls.append(
            client.post(
                "/api/v1/orders",
                json=order_body((product["id"], 1)),
                headers={**customer.headers, "Idempotency-Key": f"frozen-{n}"},
            )
        )
        calls.append(client.get("/api/v1/orders", headers=api_key))
        calls.append(client.get("/api/v1/orders", headers=customer.headers))
        calls.append(
            client.post(
                "/api/v1/orders", json=order_body((product["id"], 1)), headers=customer.headers
            )
        )
        calls.append(client.get("/api/v1/products", params={"limit": 50 + n}))
        calls.append(
            client.post(
                "/api/v1/auth/login", json={"email": customer.email, "password": "wrong-one-1"}
            )
        )
    return calls


async def _timed(call: Any) -> tuple[httpx.Response, float]:
    started = time.perf_counter()
    response = await call
    return response, time.perf_counter() - started


@pytest.mark.postgres_only
async def test_a_frozen_postgresql_answers_503_within_the_bound_then_recovers(
    make_settings: Callable[..., Settings],
) -> None:
    with private_postgres() as postgres:
        url = f"postgresql+asyncpg://postgres@127.0.0.1:{postgres.port}/postgres"
        async with _agora(make_settings, url) as (client, given):
            customer, product = given["customer"], given["product"]
            cached = f"/api/v1/products/{product['id']}"
            assert (await client.get(cached)).status_code == 200  # now in the response cache
            postgres.freeze()
            try:
                calls = _requests(client, customer, product, given["api_key"])
                results = await asyncio.gather(*(_timed(call) for call in calls))
                ready, ready_took = await _timed(client.get("/ready"))
                health = await client.get("/health")
                still_cached = await client.get(cached)
            finally:
                postgres.thaw()
            slowest = max(took for _, took in results)
            for response, _ in results:
                assert_error(response, 503, "dependency_unavailable")
                assert int(response.headers["retry-after"]) >= 1
            assert slowest < BOUND + SLACK, slowest
            assert_error(ready, 503)
            assert ready_took < BOUND + SLACK, ready_took
            assert health.status_code == 200  # liveness needs no database
            assert still_cached.status_code == 200  # what needs no database is served
            recovered = await _eventually_ok(client, customer)
            assert recovered < 10, recovered


@pytest.mark.postgres_only
async def test_a_stopped_then_restarted_postgresql_is_503_never_500(
    make_settings: Callable[..., Settings],
) -> None:
    """Also for what is looked up before routing (an API key, an Idempotency-Key), and for the
    pooled connections a restart left dead."""
    with private_postgres() as postgres:
        url = f"postgresql+asyncpg://postgres@127.0.0.1:{postgres.port}/postgres"
        async with _agora(make_settings, url) as (client, given):
            customer, product = given["customer"], given["product"]
            # Fill the pool: after the restart each of these connections is dead.
            await asyncio.gather(*_requests(client, customer, product, given["api_key"]))
            postgres.stop()
            for response in await asyncio.gather(
                *_requests(client, customer, product, given["api_key"])
            ):
                assert_error(response, 503, "dependency_unavailable")
            postgres.restart()
            for response in await asyncio.gather(
                *_requests(client, customer, product, given["api_key"])
            ):
                assert response.status_code != 500, response.text
            recovered = await _eventually_ok(client, customer)
            assert recovered < 10, recovered


@pytest.mark.parametrize(
    ("sqlstate", "message"),
    [
        ("57P03", "the database system is starting up"),
        ("57P01", "terminating connection due to administrator command"),
        ("53300", "sorry, too many clients already"),
        ("08004", "the server rejected the connection"),
    ],
)
async def test_a_postgresql_that_refuses_connections_for_now_is_503_never_500(
    make_settings: Callable[..., Settings], sqlstate: str, message: str
) -> None:
    """Seen in CI: during a restart, a request answered 500. A restarting server accepts the
    connection and refuses it with "the database system is starting up" (57P03), which the
    driver raises as a plain DBAPIError, not as a lost connection. Here a server that speaks
    PostgreSQL's protocol refuses every connection so, deterministically."""
    async with refusing_postgres(sqlstate, message) as port:
        settings = make_settings(
            database_url=f"postgresql+asyncpg://postgres@127.0.0.1:{port}/postgres",
            redis_url=None,
            broker_url=None,
            jobs_enabled=False,
        )
        app = create_app(settings)
        async with LifespanManager(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://agora.test") as c:
                api_key = "agora_" + "0" * 12 + "_" + "k" * 32  # shaped like a key: looked up
                responses = [
                    await c.get("/api/v1/products"),
                    await c.get("/api/v1/orders", headers={"X-API-Key": api_key}),
                    await c.post(
                        "/api/v1/auth/login",
                        json={"email": "someone@example.com", "password": "wrong-one-1"},
                    ),
                ]
                ready = await c.get("/ready")
    for response in responses:
        assert_error(response, 503, "dependency_unavailable")
        assert int(response.headers["retry-after"]) >= 1
    assert_error(ready, 503)


async def _eventually_ok(client: httpx.AsyncClient, customer: Caller) -> float:
    started = time.perf_counter()
    while True:
        response = await client.get("/api/v1/orders", headers=customer.headers)
        if response.status_code == 200:
            return time.perf_counter() - started
        assert time.perf_counter() - started < 30, response.text
        await asyncio.sleep(0.2)


async def test_a_locked_sqlite_answers_503_to_writes_within_the_bound(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    """SQLite's way to stop answering writes: another process holds the write lock."""
    path = tmp_path / "locked.db"
    async with _agora(make_settings, f"sqlite+aiosqlite:///{path}") as (client, given):
        customer, product = given["customer"], given["product"]
        holder = sqlite3.connect(path, isolation_level=None)
        holder.execute("BEGIN EXCLUSIVE")
        try:
            writes = await asyncio.gather(
                *(
                    _timed(
                        client.post(
                            "/api/v1/orders",
                            json=order_body((product["id"], 1)),
                            headers=customer.headers,
                        )
                    )
                    for _ in range(20)
                )
            )
            read = await client.get("/api/v1/orders", headers=customer.headers)
        finally:
            holder.rollback()
            holder.close()
        for response, took in writes:
            assert_error(response, 503, "dependency_unavailable")
            assert took < BOUND + SLACK, took
        assert read.status_code == 200  # readers are not blocked by a writer (WAL)
        placed = await client.post(
            "/api/v1/orders", json=order_body((product["id"], 1)), headers=customer.headers
        )
        assert placed.status_code == 201, placed.text
