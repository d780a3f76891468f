"""A broker that goes away stops publishing, not writing: orders are accepted, the outbox
grows, and it drains when the broker is back. On a private RabbitMQ node, killed and restarted
(the machine's shared broker is never touched)."""

import asyncio
import os
import secrets
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from sqlalchemy import select

from agora.app import create_app
from agora.platform.events import EventRecord
from tests.conftest import http_client
from tests.support import rabbitmq
from tests.support.auth import Caller, make_caller
from tests.support.catalog import make_product
from tests.support.orders import place

OUTAGE_SECONDS = 30


async def _settled(check: Any, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if await check():
            return True
        await asyncio.sleep(0.2)
    return False


@pytest.mark.slow
async def test_orders_are_taken_while_the_broker_is_away_and_their_events_follow(
    app: FastAPI,
    client: httpx.AsyncClient,
    make_settings: Any,
    tmp_path: Path,
    editor: Caller,
    admin: Caller,
) -> None:
    if not rabbitmq.available():
        if os.environ.get("CI"):
            pytest.fail("rabbitmq-server is needed for this fault test")
        pytest.skip("no rabbitmq-server on this machine")
    customer = await make_caller(app, client)
    product = await make_product(client, editor, admin=admin, stock=1000)
    with rabbitmq.private_rabbitmq(tmp_path / "rabbit") as broker:
        settings = make_settings(
            jobs_enabled=True,
            broker_url=broker.url,
            broker_prefix=f"agora-fault-{secrets.token_hex(4)}",
            relay_idle_ms=20,
        )
        busy = create_app(settings)
        relay = busy.state.background.relay
        async with LifespanManager(busy), http_client(busy) as own:

            async def drained() -> bool:
                return (await relay.lag()).pending == 0

            assert (await place(own, customer, (product["id"], 1))).status_code == 201
            assert await _settled(drained, 30), "the relay did not publish with the broker up"

            await asyncio.to_thread(broker.stop)
            started, placed = time.monotonic(), []
            while time.monotonic() - started < OUTAGE_SECONDS:
                response = await place(own, customer, (product["id"], 1))
                assert response.status_code == 201, response.text
                placed.append(response.json()["data"]["id"])
                await asyncio.sleep(1)
            lag = await relay.lag()
            assert lag.pending >= len(placed) and lag.lag_seconds >= OUTAGE_SECONDS - 2
            assert (await own.get("/ready")).status_code == 503

            await asyncio.to_thread(broker.start)
            assert await _settled(drained, 60), (
                "the outbox did not drain after the broker came back"
            )
            assert (await own.get("/ready")).status_code == 200

    async with app.state.runtime.database.session() as session:
        rows = (
            await session.scalars(
                select(EventRecord).where(
                    EventRecord.type == "order.created", EventRecord.subject_id.in_(placed)
                )
            )
        ).all()
    assert len(rows) == len(placed) and all(row.published_at is not None for row in rows)
