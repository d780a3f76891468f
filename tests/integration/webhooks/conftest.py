"""An Agora instance that delivers webhooks: its background (relay, fan-out, dispatcher) runs,
and receivers on 127.0.0.1 are allowed; retries are quick."""

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from agora.app import create_app
from agora.platform.clock import ShiftedClock
from agora.settings import Settings
from tests.conftest import http_client
from tests.support.auth import Caller, make_caller


@pytest.fixture(scope="module")
async def hooks_app(make_settings: Callable[..., Settings]) -> AsyncIterator[FastAPI]:
    settings = make_settings(
        jobs_enabled=True,
        webhook_allowed_networks=["127.0.0.0/8"],
        webhook_timeout_seconds=1.0,
        webhook_backoff_base_seconds=0.05,
        webhook_backoff_cap_seconds=0.2,
        webhook_poll_ms=50,
        relay_idle_ms=20,
        relay_lease_seconds=2,
        order_expiry_every_seconds=3600,
    )
    application = create_app(settings, clock=ShiftedClock())
    async with LifespanManager(application):
        yield application


@pytest.fixture
async def hooks_client(hooks_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with http_client(hooks_app) as session:
        yield session


@pytest.fixture
async def hooks_admin(hooks_app: FastAPI, hooks_client: httpx.AsyncClient) -> Caller:
    return await make_caller(hooks_app, hooks_client, "admin")


@pytest.fixture
async def hooks_editor(hooks_app: FastAPI, hooks_client: httpx.AsyncClient) -> Caller:
    return await make_caller(hooks_app, hooks_client, "editor")


Endpoint = dict[str, Any]


@pytest.fixture
async def endpoint_for(
    hooks_client: httpx.AsyncClient, hooks_admin: Caller
) -> AsyncIterator[Callable[..., Awaitable[Endpoint]]]:
    """Register endpoints (deleted after the test, so later events are not owed to them)."""
    made: list[str] = []

    async def make(url: str, events: list[str] | None = None) -> Endpoint:
        response = await hooks_client.post(
            "/api/v1/webhook-endpoints",
            json={"url": url, "events": events or ["refund.created"], "description": "test"},
            headers=hooks_admin.headers,
        )
        assert response.status_code == 201, response.text
        endpoint: Endpoint = response.json()["data"]
        made.append(endpoint["id"])
        return endpoint

    yield make
    for endpoint_id in made:  # with its deliveries and their attempts
        path = f"/api/v1/webhook-endpoints/{endpoint_id}"
        assert (await hooks_client.delete(path, headers=hooks_admin.headers)).status_code == 204
        gone = await hooks_client.get(f"{path}/deliveries", headers=hooks_admin.headers)
        assert gone.status_code == 404
        assert (await hooks_client.delete(path, headers=hooks_admin.headers)).status_code == 404
