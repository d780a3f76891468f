"""The order saga: unpaid orders expire and release stock exactly once; late charges go back."""

from datetime import timedelta

import httpx
from fastapi import FastAPI

from tests.support.assertions import assert_error
from tests.support.auth import Caller
from tests.support.catalog import make_product
from tests.support.orders import pay, place


async def _stock(client: httpx.AsyncClient, admin: Caller, product_id: str) -> int:
    quantity: int = (
        await client.get(f"/api/v1/inventory/{product_id}", headers=admin.headers)
    ).json()["data"]["quantity"]
    return quantity


async def test_unpaid_orders_expire_and_release_stock_once(
    app: FastAPI, client: httpx.AsyncClient, editor: Caller, admin: Caller, customer: Caller
) -> None:
    product = await make_product(client, editor, admin=admin, stock=10)
    unpaid = (await place(client, customer, (product["id"], 3))).json()["data"]
    paid = (await place(client, customer, (product["id"], 2))).json()["data"]
    assert (await pay(client, customer, paid["id"])).status_code == 201
    assert await _stock(client, admin, product["id"]) == 5
    runtime = app.state.runtime
    scheduler = app.state.background.scheduler
    assert await scheduler.run_once("expire_unpaid_orders") == 0  # not due yet
    runtime.clock.offset = timedelta(seconds=runtime.settings.order_payment_window_seconds + 1)
    try:
        # A run takes at most a batch of 100; other tests' unpaid orders may be due as well.
        runs = [await scheduler.run_once("expire_unpaid_orders")]
        while runs[-1] and len(runs) < 1000:
            runs.append(await scheduler.run_once("expire_unpaid_orders"))
    finally:
        runtime.clock.offset = timedelta(0)
    assert sum(runs) >= 1 and runs[-1] == 0, runs
    state = (await client.get(f"/api/v1/orders/{unpaid['id']}", headers=customer.headers)).json()[
        "data"
    ]
    assert state["status"] == "cancelled" and state["cancelReason"] == "expired"
    assert (await client.get(f"/api/v1/orders/{paid['id']}", headers=customer.headers)).json()[
        "data"
    ]["status"] == "paid"
    assert await _stock(client, admin, product["id"]) == 8  # 3 back, exactly once
    assert_error(await pay(client, customer, unpaid["id"]), 422, "order_not_payable")
    events = await client.get(
        "/api/v1/events", params={"subjectId": unpaid["id"], "sort": "id"}, headers=admin.headers
    )
    assert [e["type"] for e in events.json()["data"]] == ["order.created", "order.cancelled"]
    assert events.json()["data"][1]["payload"]["reason"] == "expired"


async def test_a_charge_that_lands_after_expiry_is_refunded(
    app: FastAPI, client: httpx.AsyncClient, editor: Caller, admin: Caller, customer: Caller
) -> None:
    """The order expires while the provider is charging: the charge is refunded at once."""
    product = await make_product(client, editor, admin=admin, stock=10, priceCents=1500)
    order = (await place(client, customer, (product["id"], 1))).json()["data"]
    provider = app.state.payments.provider
    original = provider.charge
    runtime = app.state.runtime

    async def charge_slowly(**kwargs: object) -> object:
        result = await original(**kwargs)
        runtime.clock.offset = timedelta(hours=1)
        try:
            await app.state.background.scheduler.run_once("expire_unpaid_orders")
        finally:
            runtime.clock.offset = timedelta(0)
        return result

    provider.charge = charge_slowly
    try:
        response = await pay(client, customer, order["id"])
    finally:
        provider.charge = original
    body = assert_error(response, 422, "order_not_payable")
    assert "refunded" in body["message"]
    events = (
        await client.get("/api/v1/events", params={"type": "refund.created"}, headers=admin.headers)
    ).json()
    assert any(
        e["payload"]["reason"] == "order_not_payable" and e["payload"]["amountCents"] == 1500
        for e in events["data"]
    )
    assert await _stock(client, admin, product["id"]) == 10


async def test_the_event_log(
    client: httpx.AsyncClient, editor: Caller, admin: Caller, customer: Caller
) -> None:
    product = await make_product(client, editor, admin=admin, stock=10)
    order = (await place(client, customer, (product["id"], 1))).json()["data"]
    await pay(client, customer, order["id"])
    log = await client.get(
        "/api/v1/events", params={"subjectType": "order", "limit": 5}, headers=admin.headers
    )
    assert log.status_code == 200
    data = log.json()["data"]
    assert data[0]["type"] == "order.paid" and data[1]["type"] == "order.created"
    assert data[0]["requestId"] is not None
    assert log.json()["meta"]["limit"] == 5
    assert_error(await client.get("/api/v1/events", headers=customer.headers), 403)
    assert_error(
        await client.get("/api/v1/events", params={"sort": "type"}, headers=admin.headers), 400
    )
