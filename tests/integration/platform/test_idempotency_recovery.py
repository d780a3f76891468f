"""An idempotent retry after a crash answers with what was done; it never does it again.

A real server is killed (SIGKILL) right after the effect of a keyed request committed and
before it answered. Seen before recovery points: the retry, once the key's lock expired, ran
the request again (a second order, its stock held) or answered `422 order already paid`
instead of the payment.
"""

import asyncio
import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from agora.ordering.models import Order
from agora.payments.models import Payment
from agora.platform.clock import SystemClock
from agora.platform.idempotency import (
    Claimed,
    IdempotencyKey,
    IdempotencyStore,
    InFlight,
    Superseded,
)
from agora.settings import Settings
from tests.support.auth import Caller, make_caller
from tests.support.catalog import make_product
from tests.support.instances import instances
from tests.support.orders import order_body, pay, place
from tests.support.server import serving

LOCK_SECONDS = 1


def _crash_after(
    settings: Settings, tmp_path: Path, moment: str, method: str, path: str, **request: Any
) -> None:
    """Send one request to a server that dies right after the effect commits."""
    log = tmp_path / f"crash-{moment}.log"
    with serving(
        settings,
        log,
        factory="tests.support.crash:create_app",
        AGORA_TEST_CRASH_AFTER=moment,
        AGORA_JOBS_ENABLED="false",
        AGORA_RATE_LIMIT_ENABLED="false",
    ) as server:
        with pytest.raises(httpx.TransportError):
            httpx.request(method, server.base + path, timeout=30, **request)
        assert server.wait_for_exit() == -9, log.read_text()


async def _count(app: FastAPI, statement: Any) -> int:
    async with app.state.runtime.database.session() as session:
        return int(await session.scalar(statement) or 0)


@pytest.mark.slow
async def test_an_order_retried_after_a_crash_is_answered_not_placed_again(
    app: FastAPI,
    client: httpx.AsyncClient,
    make_settings: Callable[..., Settings],
    settings: Settings,
    tmp_path: Path,
    editor: Caller,
    admin: Caller,
    customer: Caller,
) -> None:
    product = await make_product(client, editor, admin=admin, stock=10)
    headers = {**customer.headers, "Idempotency-Key": "crash-order"}
    body = order_body((product["id"], 3))
    mine = select(func.count()).where(Order.user_id == uuid.UUID(customer.id))

    _crash_after(settings, tmp_path, "order_placed", "POST", "/api/v1/orders", json=body,
                 headers=headers)  # fmt: skip
    assert await _count(app, mine) == 1  # committed before the process died

    async with instances(make_settings, 1, idempotency_lock_seconds=LOCK_SECONDS) as [(_, other)]:
        in_flight = await other.post("/api/v1/orders", json=body, headers=headers)
        assert in_flight.status_code == 409  # the dead attempt's lock still holds
        await _sleep_past_the_lock()
        retried = await other.post("/api/v1/orders", json=body, headers=headers)
        assert retried.status_code == 201, retried.text
        assert await _count(app, mine) == 1  # not placed a second time
        assert retried.headers["idempotent-replayed"] == "true"
        again = await other.post("/api/v1/orders", json=body, headers=headers)
        assert again.content == retried.content  # stored now, replayed as it is

    assert await _count(app, mine) == 1
    order = retried.json()["data"]
    async with app.state.runtime.database.session() as session:
        placed = await session.scalar(
            select(Order.id).where(Order.user_id == uuid.UUID(customer.id))
        )
    assert order["id"] == str(placed)
    stock = (await client.get(f"/api/v1/inventory/{product['id']}", headers=admin.headers)).json()
    assert stock["data"]["quantity"] == 7  # taken once


@pytest.mark.needs_redis
async def test_a_resumed_order_purges_what_the_crashed_attempt_left_cached(
    client: httpx.AsyncClient,
    make_settings: Callable[..., Settings],
    settings: Settings,
    tmp_path: Path,
    editor: Caller,
    admin: Caller,
    customer: Caller,
) -> None:
    """The crash came between the commit and the cache purge: the retry runs the purge."""
    product = await make_product(client, editor, admin=admin, stock=10)
    public = f"/api/v1/products/{product['id']}"
    assert (await client.get(public)).json()["data"]["stock"] == 10  # cached, shared via Redis
    headers = {**customer.headers, "Idempotency-Key": "crash-order-cached"}
    body = order_body((product["id"], 3))
    _crash_after(settings, tmp_path, "order_placed", "POST", "/api/v1/orders", json=body,
                 headers=headers)  # fmt: skip
    assert (await client.get(public)).json()["data"]["stock"] == 10  # nothing purged it

    async with instances(make_settings, 1, idempotency_lock_seconds=LOCK_SECONDS) as [(_, other)]:
        await _sleep_past_the_lock()
        retried = await other.post("/api/v1/orders", json=body, headers=headers)
        assert retried.status_code == 201, retried.text
        assert (await other.get(public)).json()["data"]["stock"] == 7
        for _ in range(50):  # this instance hears of it through Redis
            if (await client.get(public)).json()["data"]["stock"] == 7:
                break
            await asyncio.sleep(0.05)
        assert (await client.get(public)).json()["data"]["stock"] == 7


@pytest.mark.slow
async def test_a_payment_retried_after_a_crash_returns_the_payment(
    app: FastAPI,
    client: httpx.AsyncClient,
    make_settings: Callable[..., Settings],
    settings: Settings,
    tmp_path: Path,
    editor: Caller,
    admin: Caller,
    customer: Caller,
) -> None:
    product = await make_product(client, editor, admin=admin, stock=10)
    order = (await place(client, customer, (product["id"], 1))).json()["data"]
    headers = {**customer.headers, "Idempotency-Key": "crash-payment"}
    body = {"orderId": order["id"], "paymentMethod": "pm_card_visa"}
    of_order = select(func.count()).where(Payment.order_id == uuid.UUID(order["id"]))

    _crash_after(settings, tmp_path, "payment_succeeded", "POST", "/api/v1/payments", json=body,
                 headers=headers)  # fmt: skip
    assert await _count(app, of_order) == 1

    async with instances(make_settings, 1, idempotency_lock_seconds=LOCK_SECONDS) as [(_, other)]:
        await _sleep_past_the_lock()
        retried = await other.post("/api/v1/payments", json=body, headers=headers)
    assert retried.status_code == 201, retried.text
    assert retried.headers["idempotent-replayed"] == "true"
    payment = retried.json()["data"]
    assert payment["status"] == "succeeded" and payment["orderId"] == order["id"]
    assert await _count(app, of_order) == 1
    paid = (await client.get(f"/api/v1/orders/{order['id']}", headers=customer.headers)).json()
    assert paid["data"]["status"] == "paid"


async def _sleep_past_the_lock() -> None:
    import asyncio

    await asyncio.sleep(LOCK_SECONDS + 0.2)


async def test_a_superseded_attempt_cannot_commit_its_effect(app: FastAPI) -> None:
    """A slow first attempt whose lock expired loses the key to the retry: fencing."""
    store = IdempotencyStore(
        app.state.runtime.database, SystemClock(), ttl=timedelta(hours=1), lock_timeout=timedelta(0)
    )
    owner = f"user:{uuid.uuid4()}"
    first = await store.claim(owner, "slow", "fingerprint")
    second = await store.claim(owner, "slow", "fingerprint")  # lock of 0 s: taken over
    assert isinstance(first, Claimed) and isinstance(second, Claimed)
    assert second.attempt.number == first.attempt.number + 1
    async with app.state.runtime.database.unit_of_work() as uow:
        with pytest.raises(Superseded):
            await first.attempt.reach(uow.session, "order_placed", orderId="x")
    async with app.state.runtime.database.unit_of_work() as uow:
        await second.attempt.reach(uow.session, "order_placed", orderId="y")
        await uow.commit()
    third = await store.claim(owner, "slow", "fingerprint")
    assert isinstance(third, Claimed)
    assert third.attempt.resumed("order_placed") == {"orderId": "y"}


async def test_a_server_error_after_a_recovery_point_unlocks_the_key(app: FastAPI) -> None:
    store = IdempotencyStore(
        app.state.runtime.database,
        SystemClock(),
        ttl=timedelta(hours=1),
        lock_timeout=timedelta(hours=1),
    )
    owner = f"user:{uuid.uuid4()}"
    claimed = await store.claim(owner, "k", "f")
    assert isinstance(claimed, Claimed)
    assert isinstance(await store.claim(owner, "k", "f"), InFlight)
    async with app.state.runtime.database.unit_of_work() as uow:
        await claimed.attempt.reach(uow.session, "payment_recorded", paymentId="p")
        await uow.commit()
    await store.abandon(claimed.attempt)  # a 503 after the point: kept, unlocked
    resumed = await store.claim(owner, "k", "f")
    assert isinstance(resumed, Claimed)
    assert resumed.attempt.resumed("payment_recorded") == {"paymentId": "p"}
    await store.abandon(resumed.attempt)
    async with app.state.runtime.database.session() as session:
        kept = await session.scalar(select(func.count()).where(IdempotencyKey.owner == owner))
    assert kept == 1


async def test_a_server_error_before_any_point_forgets_the_key(app: FastAPI) -> None:
    store = IdempotencyStore(
        app.state.runtime.database,
        SystemClock(),
        ttl=timedelta(hours=1),
        lock_timeout=timedelta(hours=1),
    )
    owner = f"user:{uuid.uuid4()}"
    claimed = await store.claim(owner, "k", "f")
    assert isinstance(claimed, Claimed)
    await store.abandon(claimed.attempt)
    fresh = await store.claim(owner, "k", "other body")  # a new request may use the key
    assert isinstance(fresh, Claimed) and fresh.attempt.number == 1


async def test_a_retried_payment_whose_outcome_is_unknown_is_never_charged_twice(
    make_settings: Callable[..., Settings],
) -> None:
    """The charge went through but its answer was lost; the retry cannot reach the provider.
    The payment must stay open (not "failed", which would let a later retry pay anew)."""
    changes = {
        "payment_timeout_seconds": 0.2,
        "payment_attempts": 1,
        "idempotency_lock_seconds": LOCK_SECONDS,
    }
    async with instances(make_settings, 1, **changes) as [(app, client)]:
        editor = await make_caller(app, client, "editor")
        admin = await make_caller(app, client, "admin")
        customer = await make_caller(app, client)
        product = await make_product(client, editor, admin=admin, stock=5)
        order = (await place(client, customer, (product["id"], 1))).json()["data"]
        provider = app.state.payments.provider
        headers = {**customer.headers, "Idempotency-Key": "lost-answer"}
        body = {"orderId": order["id"], "paymentMethod": "pm_card_flaky"}

        lost = await client.post("/api/v1/payments", json=body, headers=headers)
        assert lost.status_code == 503 and lost.json()["errors"][0]["code"] == (
            "payment_outcome_unknown"
        )
        provider.outage = True
        unreachable = await client.post("/api/v1/payments", json=body, headers=headers)
        assert unreachable.status_code == 503
        assert unreachable.json()["errors"][0]["code"] == "payment_outcome_unknown"
        provider.outage = False
        settled = await client.post("/api/v1/payments", json=body, headers=headers)
        assert settled.status_code == 201, settled.text
        assert settled.json()["data"]["status"] == "succeeded"
        assert provider.charge_count() == 1
        of_order = select(func.count()).where(Payment.order_id == uuid.UUID(order["id"]))
        assert await _count(app, of_order) == 1


async def test_a_payment_finished_twice_is_recorded_once(
    app: FastAPI,
    client: httpx.AsyncClient,
    editor: Caller,
    admin: Caller,
    customer: Caller,
) -> None:
    """Two finishers of one charge (the settle job and a retried request) reduced to their two
    calls: the second finds the payment recorded and answers with it, refunding nothing."""
    from agora.payments.models import Refund
    from agora.payments.provider import Charge

    product = await make_product(client, editor, admin=admin, stock=5)
    order = (await place(client, customer, (product["id"], 1))).json()["data"]
    paid = (await pay(client, customer, order["id"])).json()["data"]
    service = app.state.payments.service
    charge = Charge("ch_again", succeeded=True)
    again = await service._record(uuid.UUID(paid["id"]), charge)
    assert again.status == "succeeded" and again.refunded_cents == 0
    refunds = select(func.count()).where(Refund.payment_id == uuid.UUID(paid["id"]))
    assert await _count(app, refunds) == 0
