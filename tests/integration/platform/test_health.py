"""Liveness, readiness, and what a request sees when the database is down."""

from collections.abc import AsyncIterator, Callable

import httpx
import pytest
from asgi_lifespan import LifespanManager

from agora.app import create_app
from agora.settings import Settings
from tests.conftest import http_client
from tests.support import backends, chassis
from tests.support.assertions import assert_error

# Nothing listens on port 1; connecting is refused at once.
UNREACHABLE = "postgresql+asyncpg://agora@127.0.0.1:1/agora"


async def test_health_needs_no_dependency(client: httpx.AsyncClient) -> None:
    response = await client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"success": True, "data": {"status": "ok"}}


async def test_ready_checks_every_dependency(client: httpx.AsyncClient) -> None:
    """(The tests' app runs no background work, so it never touches the broker.)"""
    response = await client.get("/ready")
    assert response.status_code == 200
    checks = {"database": "ok"} | ({"cache": "ok"} if backends.REDIS_URL else {})
    assert response.json()["data"] == {"status": "ready", "checks": checks}


@pytest.mark.parametrize(("jobs", "status"), [(False, 200), (True, 503)])
async def test_the_broker_counts_where_the_relay_runs(
    make_settings: Callable[..., Settings], jobs: bool, status: int
) -> None:
    """A web instance that leaves events to `agora worker` stays ready without the broker."""
    settings = make_settings(broker_url="amqp://guest:guest@127.0.0.1:1/", jobs_enabled=jobs)
    app = create_app(settings)
    async with LifespanManager(app), http_client(app) as client:
        response = await client.get("/ready")
    assert response.status_code == status
    if jobs:
        assert "broker" in response.text  # named in the 503 as the dependency that is down
    else:
        assert "broker" not in response.json()["data"]["checks"]


@pytest.fixture
async def down_client(make_settings: Callable[..., Settings]) -> AsyncIterator[httpx.AsyncClient]:
    """An app whose database cannot be reached."""
    app = create_app(make_settings(database_url=UNREACHABLE, retry_after_seconds=7))
    app.include_router(chassis.router)
    async with LifespanManager(app), http_client(app) as client:
        yield client


async def test_app_starts_and_stays_live_without_its_database(
    down_client: httpx.AsyncClient,
) -> None:
    assert (await down_client.get("/health")).status_code == 200


async def test_ready_is_503_with_retry_after_when_database_is_down(
    down_client: httpx.AsyncClient,
) -> None:
    response = await down_client.get("/ready")
    body = assert_error(response, 503, "unavailable")
    assert response.headers["retry-after"] == "7"
    assert body["errors"] == [
        {"field": "database", "code": "unavailable", "message": "The database is unreachable."}
    ]


async def test_request_needing_the_database_is_503_not_500(
    down_client: httpx.AsyncClient,
) -> None:
    response = await down_client.get("/api/v1/_chassis/db")
    body = assert_error(response, 503, "dependency_unavailable")
    assert response.headers["retry-after"] == "7"
    assert "127.0.0.1" not in response.text and "asyncpg" not in body["message"]


@pytest.mark.postgres_only
async def test_a_statement_timeout_is_503_not_500(chassis_client: httpx.AsyncClient) -> None:
    response = await chassis_client.get("/api/v1/_chassis/slow-query")
    body = assert_error(response, 503, "dependency_unavailable")
    assert int(response.headers["retry-after"]) >= 1
    assert body["errors"][0]["field"] == "database"
    assert "pg_sleep" not in response.text and "statement" not in body["message"].lower()


@pytest.mark.postgres_only
async def test_other_database_errors_stay_500s(chassis_client: httpx.AsyncClient) -> None:
    response = await chassis_client.get("/api/v1/_chassis/bad-sql")
    assert_error(response, 500, "internal_error")
    assert "no_such_table" not in response.text


async def test_request_using_the_database(chassis_client: httpx.AsyncClient) -> None:
    response = await chassis_client.get("/api/v1/_chassis/db")
    assert response.json()["data"] == {"value": 1}
