"""A worker killed (SIGKILL) in the middle of fanning events out to webhooks: after another one
takes over, every event is owed to the endpoint exactly once, and every one is delivered.

The worker dies with events handled but not yet acknowledged (RabbitMQ) or not yet marked
published (the in-process broker): they arrive again, and the inbox makes the repeat a no-op.
"""

import asyncio
import secrets
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from sqlalchemy import func, select

from agora.app import create_app
from agora.platform.events import EventRecord
from agora.platform.ids import new_id
from agora.platform.inbox import ProcessedEvent
from agora.settings import Settings
from agora.webhooks.models import WebhookDelivery
from tests.conftest import http_client
from tests.support import backends
from tests.support.auth import make_caller
from tests.support.receiver import receiving
from tests.support.server import working

EVENTS = 600


@pytest.fixture(scope="module")
async def quiet_app(make_settings: Callable[..., Settings]) -> AsyncIterator[FastAPI]:
    """An instance that registers receivers on 127.0.0.1 and runs no background."""
    application = create_app(make_settings(webhook_allowed_networks=["127.0.0.0/8"]))
    async with LifespanManager(application):
        yield application


@pytest.mark.slow
async def test_a_worker_killed_mid_batch_leaves_every_effect_exactly_once(
    quiet_app: FastAPI, settings: Settings, tmp_path: Path
) -> None:
    database = quiet_app.state.runtime.database
    prefix = f"agora-crash-{secrets.token_hex(4)}"
    env = {
        "AGORA_WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8",
        "AGORA_RELAY_LEASE_SECONDS": "2",
        "AGORA_BROKER_PREFIX": prefix,
        "AGORA_WEBHOOK_POLL_MS": "50",
    }
    if settings.broker_url:
        env["AGORA_BROKER_URL"] = settings.broker_url

    async with receiving() as receiver, http_client(quiet_app) as client:
        admin = await make_caller(quiet_app, client, "admin")
        registered = await client.post(
            "/api/v1/webhook-endpoints",
            json={"url": receiver.url, "events": ["product.updated"]},
            headers=admin.headers,
        )
        assert registered.status_code == 201, registered.text
        endpoint_id = uuid.UUID(registered.json()["data"]["id"])
        ids = await _record_events(quiet_app, EVENTS)

        async def handled() -> int:
            async with database.session() as session:
                return int(
                    await session.scalar(
                        select(func.count())
                        .select_from(ProcessedEvent)
                        .where(ProcessedEvent.consumer == "webhooks")
                        .where(ProcessedEvent.event_id.in_(ids))
                    )
                    or 0
                )

        try:
            with working(settings, tmp_path / "worker-a.log", **env) as first:
                await _until(lambda: _at_least(handled(), EVENTS // 4), 60)
                first.kill()  # SIGKILL, mid-stream
                assert first.wait(timeout=10) == -9
            at_kill = await handled()
            assert at_kill < EVENTS, "the worker finished before it was killed"

            with working(settings, tmp_path / "worker-b.log", **env):
                await _until(lambda: _at_least(_delivered(quiet_app, endpoint_id), EVENTS), 120)
        finally:
            if settings.broker_url:
                await backends.delete_queues(
                    settings.broker_url, [f"{prefix}.webhooks", f"{prefix}.catalog-cache"]
                )

        async with database.session() as session:
            owed = (
                await session.execute(
                    select(WebhookDelivery.event_id, func.count())
                    .where(WebhookDelivery.endpoint_id == endpoint_id)
                    .group_by(WebhookDelivery.event_id)
                )
            ).all()
            unpublished = await session.scalar(
                select(func.count())
                .select_from(EventRecord)
                .where(EventRecord.id.in_(ids), EventRecord.published_at.is_(None))
            )
        assert {event_id for event_id, _ in owed} == set(ids)
        assert all(count == 1 for _, count in owed)  # each event owed once
        assert unpublished == 0
        got = {r.headers["webhook-id"] for r in receiver.received}
        assert {str(i) for i in ids} <= got  # each delivered (at least once: that is HTTP)
        repeats = len(receiver.received) - len(got)
        assert repeats <= settings.webhook_concurrency  # only what was in flight at the kill
        log = (tmp_path / "worker-a.log").read_text() + (tmp_path / "worker-b.log").read_text()
        assert "IntegrityError" not in log
        await client.delete(f"/api/v1/webhook-endpoints/{endpoint_id}", headers=admin.headers)


async def _at_least(count: Awaitable[int], wanted: int) -> bool:
    return await count >= wanted


async def _until(check: Callable[[], Awaitable[bool]], within: float) -> None:
    async with asyncio.timeout(within):
        while not await check():  # noqa: ASYNC110 - polling another process's writes
            await asyncio.sleep(0.05)


async def _record_events(app: FastAPI, count: int) -> list[uuid.UUID]:
    """`count` product.updated events in the outbox, as the catalog records them."""
    ids = []
    async with app.state.runtime.database.unit_of_work() as uow:
        for _ in range(count):
            product_id = new_id()
            row = EventRecord(
                id=new_id(),
                type="product.updated",
                version=1,
                subject_type="product",
                subject_id=str(product_id),
                payload={"id": str(product_id), "name": "Crash test"},
                occurred_at=app.state.runtime.clock.now(),
            )
            uow.session.add(row)
            ids.append(row.id)
        await uow.commit()
    return ids


async def _delivered(app: FastAPI, endpoint_id: uuid.UUID) -> int:
    async with app.state.runtime.database.session() as session:
        return int(
            await session.scalar(
                select(func.count())
                .select_from(WebhookDelivery)
                .where(WebhookDelivery.endpoint_id == endpoint_id)
                .where(WebhookDelivery.status == "succeeded")
            )
            or 0
        )
