"""The outbox relay: committed events reach the broker in order, each once per relay, with one
relay publishing at a time however many processes run one."""

import asyncio
import uuid
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from sqlalchemy import select

from agora.app import create_app
from agora.platform import outbox
from agora.platform.broker import Delivery, InProcessBroker, Subscription
from agora.platform.clock import ShiftedClock
from agora.platform.events import EventRecord
from agora.platform.outbox import Relay
from tests.conftest import http_client
from tests.support.auth import Caller
from tests.support.catalog import PRODUCTS, make_product


class Recorder:
    """A consumer that remembers what it was given."""

    def __init__(self) -> None:
        self.seen: list[Delivery] = []

    async def __call__(self, delivery: Delivery) -> None:
        self.seen.append(delivery)

    def of(self, subjects: set[str]) -> list[Delivery]:
        return [d for d in self.seen if d.subject_id in subjects]


async def _relay(app: FastAPI, recorder: Recorder, *, clock: Any = None, **options: Any) -> Relay:
    broker = InProcessBroker()
    await broker.start([Subscription("recorder", ("#",), recorder)])
    runtime = app.state.runtime
    return Relay(runtime.database, broker, clock or runtime.clock, **options)


async def _drain(relay: Relay) -> None:
    while await relay.publish_once():
        pass


async def test_committed_events_are_published_in_order_and_marked(
    app: FastAPI, client: httpx.AsyncClient, editor: Caller, admin: Caller
) -> None:
    product = await make_product(client, editor)
    patched = await client.patch(
        f"{PRODUCTS}/{product['id']}", json={"name": "Renamed"}, headers=editor.headers
    )
    assert patched.status_code == 200
    lag = (await client.get("/api/v1/outbox", headers=admin.headers)).json()["data"]
    assert lag["pending"] >= 2 and lag["lagSeconds"] >= 0 and lag["oldestAt"] is not None

    recorder = Recorder()
    relay = await _relay(app, recorder)
    try:
        await _drain(relay)
    finally:
        await relay.release()
    mine = recorder.of({product["id"]})
    assert [d.type for d in mine] == ["product.created", "product.updated"]
    assert mine[1].payload["name"] == "Renamed" and mine[1].version == 1
    assert mine[0].id < mine[1].id
    events = await client.get(
        "/api/v1/events", params={"subjectId": product["id"]}, headers=admin.headers
    )
    assert all(e["publishedAt"] is not None for e in events.json()["data"])
    after = (await client.get("/api/v1/outbox", headers=admin.headers)).json()["data"]
    assert after == {"pending": 0, "oldestAt": None, "lagSeconds": 0.0}


async def test_two_relays_at_once_publish_every_event_once_in_order(
    app: FastAPI, client: httpx.AsyncClient, editor: Caller
) -> None:
    created = {(await make_product(client, editor))["id"] for _ in range(12)}
    recorder = Recorder()
    first = await _relay(app, recorder, batch=3)
    second = await _relay(app, recorder, batch=3)
    try:
        while sum(await asyncio.gather(first.publish_once(), second.publish_once())):
            pass  # until neither finds anything left (earlier tests may have left a backlog)
    finally:
        await first.release()
        await second.release()
    mine = recorder.of(created)
    assert len(mine) == 12 and {d.subject_id for d in mine} == created
    assert [d.id for d in mine] == sorted(d.id for d in mine)


async def test_a_relay_that_stops_renewing_is_replaced(
    app: FastAPI, client: httpx.AsyncClient, editor: Caller
) -> None:
    recorder = Recorder()
    holder = await _relay(app, recorder, lease_seconds=30)
    later = ShiftedClock()
    successor = await _relay(app, recorder, clock=later, lease_seconds=30)
    try:
        product = await make_product(client, editor)
        await _drain(holder)  # takes the lease, then stops (as if it died)
        again = await make_product(client, editor)
        assert await successor.publish_once() == 0  # the lease still holds
        later.offset = timedelta(seconds=31)
        await _drain(successor)
        assert [d.type for d in recorder.of({product["id"]})] == ["product.created"]
        assert [d.type for d in recorder.of({again["id"]})] == ["product.created"]
    finally:
        await successor.release()


class FailingBroker(InProcessBroker):
    async def publish(self, deliveries: Sequence[Delivery]) -> None:
        raise ConnectionError("the broker is away")


async def test_events_wait_in_the_outbox_while_the_broker_is_away(
    app: FastAPI, client: httpx.AsyncClient, editor: Caller
) -> None:
    runtime = app.state.runtime
    away = Relay(runtime.database, FailingBroker(), runtime.clock)
    product = await make_product(client, editor)
    try:
        with pytest.raises(ConnectionError):
            await away.publish_once()
    finally:
        await away.release()
    async with runtime.database.session() as session:
        row = await session.scalar(
            select(EventRecord).where(EventRecord.subject_id == product["id"])
        )
    assert row is not None and row.published_at is None
    recorder = Recorder()
    back = await _relay(app, recorder)
    try:
        await _drain(back)
    finally:
        await back.release()
    assert [d.type for d in recorder.of({product["id"]})] == ["product.created"]


async def test_the_background_relay_runs_where_jobs_run(make_settings: Any, editor: Caller) -> None:
    """An instance with jobs on publishes by itself, and its catalog consumer repairs a cached
    copy whose purge was lost after the commit."""
    busy = create_app(make_settings(jobs_enabled=True, relay_idle_ms=20))
    async with LifespanManager(busy), http_client(busy) as own:
        product = await make_product(own, editor)
        url = f"{PRODUCTS}/{product['id']}"
        assert (await own.get(url)).json()["data"]["name"] == product["name"]  # cached now
        changes = busy.state.catalog.products.changes
        purge = changes.product
        lost: list[uuid.UUID] = []

        async def lose_the_first(product_id: uuid.UUID) -> None:
            if not lost:  # the write's own purge: as if the process had died after its commit
                lost.append(product_id)
                return
            await purge(product_id)

        changes.product = lose_the_first  # type: ignore[method-assign]
        patched = await own.patch(url, json={"name": "Fresh name"}, headers=editor.headers)
        assert patched.status_code == 200 and lost
        for _ in range(300):  # the relay may first publish what earlier tests left pending
            if (await own.get(url)).json()["data"]["name"] == "Fresh name":
                break
            await asyncio.sleep(0.05)
        assert (await own.get(url)).json()["data"]["name"] == "Fresh name"
        for _ in range(100):  # the purge runs inside the publish; the mark commits after it
            if (await busy.state.events.relay.lag()).pending == 0:
                break
            await asyncio.sleep(0.05)
        assert (await busy.state.events.relay.lag()).pending == 0


async def test_a_relay_that_loses_its_lease_mid_round_stops_and_marks_what_it_sent(
    app: FastAPI, client: httpx.AsyncClient, editor: Caller, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(outbox, "CHUNK", 5)
    recorder = Recorder()
    drained = await _relay(app, recorder)
    await _drain(drained)  # what earlier tests left
    await drained.release()
    created = {(await make_product(client, editor))["id"] for _ in range(12)}
    runtime = app.state.runtime
    successor = await _relay(app, recorder, lease_seconds=30)

    class TakenOverBroker(InProcessBroker):
        """The first chunk outlasts the holder's lease; another relay takes it meanwhile."""

        async def publish(self, deliveries: Sequence[Delivery]) -> None:
            await super().publish(deliveries)
            await asyncio.sleep(0.01)
            assert await successor._hold_lease()

    broker = TakenOverBroker()
    await broker.start([Subscription("recorder", ("#",), recorder)])
    holder = Relay(runtime.database, broker, runtime.clock, lease_seconds=0.005)
    recorder.seen.clear()
    try:
        assert await holder.publish_once() == 5  # one chunk, then the lease was gone
        await _drain(successor)
    finally:
        await successor.release()
    mine = recorder.of(created)
    assert len(mine) == 12 and {d.subject_id for d in mine} == created  # each once
    assert [d.id for d in mine] == sorted(d.id for d in mine)


async def test_a_running_relay_stops_when_cancelled_inside_a_client_that_hides_it(
    app: FastAPI, client: httpx.AsyncClient, editor: Caller
) -> None:
    """aiormq turns a cancellation that lands while it connects into a connection error; the
    relay must still stop (an app's shutdown waits for it)."""

    class HidingBroker(InProcessBroker):
        async def publish(self, deliveries: Sequence[Delivery]) -> None:
            try:
                await asyncio.sleep(30)
            except asyncio.CancelledError:
                raise ConnectionError("connect call failed") from None

    await make_product(client, editor)  # something to publish
    runtime = app.state.runtime
    relay = Relay(runtime.database, HidingBroker(), runtime.clock)
    running = asyncio.create_task(relay.run())
    await asyncio.sleep(0.2)
    running.cancel()
    done, _ = await asyncio.wait({running}, timeout=5)
    assert running in done, "the relay went on after it was cancelled"
    assert running.cancelled()
    await relay.release()


async def test_a_standby_relay_does_not_contend_for_the_lease_at_every_turn(
    app: FastAPI, client: httpx.AsyncClient, editor: Caller
) -> None:
    recorder = Recorder()
    holder = await _relay(app, recorder, lease_seconds=30)
    standby = await _relay(app, recorder, lease_seconds=30, idle_seconds=0.01)
    tries = 0
    hold = standby._hold_lease

    async def counted() -> bool:
        nonlocal tries
        tries += 1
        return await hold()

    standby._hold_lease = counted  # type: ignore[method-assign]
    try:
        await _drain(holder)  # the holder has the lease for 30 s
        await make_product(client, editor)  # pending, for the standby to see
        running = asyncio.create_task(standby.run())
        await asyncio.sleep(1)
        running.cancel()
        await asyncio.wait({running}, timeout=5)
        assert standby.standing_by and tries == 1  # not one try per 10 ms
    finally:
        await holder.release()
