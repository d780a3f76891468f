"""Inventory: stock levels, who may set them, and the inventory.low event."""

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from agora.platform.events import EventRecord
from tests.support.assertions import assert_error
from tests.support.auth import Caller
from tests.support.catalog import make_product


async def _low_events(app: FastAPI, product_id: str) -> list[dict[str, object]]:
    async with app.state.runtime.database.session() as session:
        rows = await session.scalars(
            select(EventRecord.payload)
            .where(EventRecord.type == "inventory.low", EventRecord.subject_id == product_id)
            .order_by(EventRecord.id)
        )
        return list(rows)


async def test_stock_is_set_and_shown_on_the_product(
    client: httpx.AsyncClient, editor: Caller, admin: Caller
) -> None:
    product = await make_product(client, editor)
    url = f"/api/v1/inventory/{product['id']}"
    assert (await client.get(url, headers=editor.headers)).json()["data"]["quantity"] == 0
    response = await client.put(url, json={"quantity": 42}, headers=admin.headers)
    assert response.status_code == 200
    assert response.json()["data"] == {
        "productId": product["id"],
        "quantity": 42,
        "updatedAt": response.json()["data"]["updatedAt"],
    }
    assert (await client.get(f"/api/v1/products/{product['id']}")).json()["data"]["stock"] == 42


async def test_who_may_see_and_set_stock(
    client: httpx.AsyncClient, editor: Caller, customer: Caller
) -> None:
    product = await make_product(client, editor)
    url = f"/api/v1/inventory/{product['id']}"
    assert_error(await client.get(url), 401)
    assert_error(await client.get(url, headers=customer.headers), 403)
    assert_error(await client.put(url, json={"quantity": 1}, headers=editor.headers), 403)


async def test_bad_quantities(client: httpx.AsyncClient, editor: Caller, admin: Caller) -> None:
    product = await make_product(client, editor)
    url = f"/api/v1/inventory/{product['id']}"
    for quantity, code in (
        (-1, "out_of_range"),
        ("5", "invalid_type"),
        (1.5, "invalid_type"),
        (10**10, "out_of_range"),
    ):
        assert_error(
            await client.put(url, json={"quantity": quantity}, headers=admin.headers), 400, code
        )
    missing = "/api/v1/inventory/00000000-0000-7000-8000-000000000000"
    assert_error(await client.put(missing, json={"quantity": 1}, headers=admin.headers), 404)


async def test_low_stock_event_when_crossing_the_threshold(
    app: FastAPI, client: httpx.AsyncClient, editor: Caller, admin: Caller
) -> None:
    product = await make_product(client, editor)
    url = f"/api/v1/inventory/{product['id']}"
    for quantity in (20, 6, 5, 3, 10, 2):
        assert (
            await client.put(url, json={"quantity": quantity}, headers=admin.headers)
        ).status_code == 200
    events = await _low_events(app, product["id"])
    # 6 -> 5 crosses the threshold of 5; 5 -> 3 stays under it; 10 -> 2 crosses again.
    assert [event["quantity"] for event in events] == [5, 2]
    assert events[0] == {"productId": product["id"], "quantity": 5, "threshold": 5}
