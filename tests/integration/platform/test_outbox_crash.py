"""An event committed by a process that dies before relaying it is published after a restart.

A real server is killed (SIGKILL) right after the transaction that placed an order (and wrote
its `order.created` to the outbox) committed: nothing was relayed, nothing answered. Another
server, started on the same database, publishes it.
"""

import asyncio
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from agora.platform.events import EventRecord
from agora.settings import Settings
from tests.support.auth import Caller, make_caller
from tests.support.catalog import make_product
from tests.support.orders import order_body
from tests.support.server import serving


def _background(settings: Settings, **extra: str) -> dict[str, str]:
    env = {
        "AGORA_JOBS_ENABLED": "true",
        "AGORA_RATE_LIMIT_ENABLED": "false",
        "AGORA_RELAY_LEASE_SECONDS": "2",
        **extra,
    }
    if settings.broker_url:
        env |= {
            "AGORA_BROKER_URL": settings.broker_url,
            "AGORA_BROKER_PREFIX": settings.broker_prefix,
        }
    return env


@pytest.mark.slow
async def test_an_event_committed_before_a_crash_is_published_after_restart(
    app: FastAPI,
    client: httpx.AsyncClient,
    settings: Settings,
    tmp_path: Path,
    editor: Caller,
    admin: Caller,
) -> None:
    customer = await make_caller(app, client)
    product = await make_product(client, editor, admin=admin, stock=5)
    crashing = _background(settings, AGORA_TEST_CRASH_AFTER="order_placed")
    with serving(
        settings, tmp_path / "crash.log", factory="tests.support.crash:create_app", **crashing
    ) as server:
        async with httpx.AsyncClient(base_url=server.base, timeout=30) as dying:
            with pytest.raises(httpx.TransportError):
                await dying.post(
                    "/api/v1/orders", json=order_body((product["id"], 1)), headers=customer.headers
                )
        assert server.wait_for_exit() == -9

    async def created() -> EventRecord | None:
        async with app.state.runtime.database.session() as session:
            rows = (
                await session.scalars(
                    select(EventRecord).where(EventRecord.type == "order.created")
                )
            ).all()
        return next((r for r in rows if r.payload["userId"] == str(customer.id)), None)

    event = await created()
    assert event is not None and event.published_at is None  # committed, never relayed

    with serving(settings, tmp_path / "restart.log", **_background(settings)):
        for _ in range(200):
            event = await created()
            assert event is not None
            if event.published_at is not None:
                break
            await asyncio.sleep(0.05)
    assert event.published_at is not None, (tmp_path / "restart.log").read_text()
