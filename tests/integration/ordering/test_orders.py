"""Orders: catalog prices, stock in the same transaction, the status machine, visibility."""

import uuid
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from agora.platform.events import EventRecord
from tests.support.assertions import assert_error
from tests.support.auth import Caller, make_caller
from tests.support.catalog import make_product
from tests.support.orders import ADDRESS, order_body, pay, place
from tests.support.sql import counting_sql

ORDERS = "/api/v1/orders"


async def _stock(client: httpx.AsyncClient, admin: Caller, product_id: str) -> int:
    response = await client.get(f"/api/v1/inventory/{product_id}", headers=admin.headers)
    quantity: int = response.json()["data"]["quantity"]
    return quantity


async def test_place_an_order_at_catalog_prices(
    app: FastAPI, client: httpx.AsyncClient, editor: Caller, admin: Caller, customer: Caller
) -> None:
    kettle = await make_product(client, editor, admin=admin, stock=10, priceCents=2999)
    beans = await make_product(client, editor, admin=admin, stock=10, priceCents=1250)
    body = order_body((kettle["id"], 1), (beans["id"], 2), (beans["id"], 1))
    body["items"][0]["unitPriceCents"] = 1  # a client price is not a thing here
    refused = await client.post(ORDERS, json=body, headers=customer.headers)
    assert_error(refused, 400, "unknown_field")
    del body["items"][0]["unitPriceCents"]
    response = await client.post(ORDERS, json=body, headers=customer.headers)
    assert response.status_code == 201, response.text
    order = response.json()["data"]
    assert response.headers["location"].endswith(f"{ORDERS}/{order['id']}")
    assert order["status"] == "pending" and order["userId"] == customer.id
    assert order["totalCents"] == 2999 + 3 * 1250 and order["currency"] == "USD"
    assert [(i["productId"], i["quantity"], i["unitPriceCents"]) for i in order["items"]] == [
        (kettle["id"], 1, 2999),
        (beans["id"], 3, 1250),  # duplicate lines merged
    ]
    assert order["shippingAddress"] == {**ADDRESS, "line2": ""}
    assert await _stock(client, admin, kettle["id"]) == 9
    assert await _stock(client, admin, beans["id"]) == 7
    async with app.state.runtime.database.session() as session:
        types = list(
            await session.scalars(
                select(EventRecord.type).where(EventRecord.subject_id == order["id"])
            )
        )
    assert types == ["order.created"]


async def test_not_enough_stock_changes_nothing(
    client: httpx.AsyncClient, editor: Caller, admin: Caller, customer: Caller
) -> None:
    plenty = await make_product(client, editor, admin=admin, stock=50)
    scarce = await make_product(client, editor, admin=admin, stock=2, name="Scarce thing")
    response = await place(client, customer, (plenty["id"], 5), (scarce["id"], 3))
    body = assert_error(response, 422, "insufficient_stock")
    assert "Scarce thing" in body["message"] and scarce["sku"] in body["message"]
    assert body["errors"][0]["field"] == "items[1].quantity"
    assert await _stock(client, admin, plenty["id"]) == 50  # rolled back
    assert await _stock(client, admin, scarce["id"]) == 2


@pytest.mark.parametrize(
    ("lines", "code"),
    [
        ([], "too_short"),
        ([("x", 1)], "invalid_type"),
        ([(str(uuid.uuid4()), 0)], "out_of_range"),
        ([(str(uuid.uuid4()), -3)], "out_of_range"),
        ([(str(uuid.uuid4()), 1001)], "out_of_range"),
        ([(str(uuid.uuid4()), "2")], "invalid_type"),
        ([(str(uuid.uuid4()), 1)] * 101, "too_long"),
    ],
)
async def test_malformed_orders_are_400(
    client: httpx.AsyncClient, customer: Caller, lines: list[tuple[Any, Any]], code: str
) -> None:
    assert_error(await place(client, customer, *lines), 400, code)


async def test_ten_thousand_lines_are_400(client: httpx.AsyncClient, customer: Caller) -> None:
    lines = [(str(uuid.uuid4()), 1) for _ in range(10_000)]
    assert_error(await place(client, customer, *lines), 400, "too_long")


async def test_merged_lines_over_the_limit_are_422(
    client: httpx.AsyncClient, editor: Caller, admin: Caller, customer: Caller
) -> None:
    """Each line is valid on its own (the schema allows it); together they break a rule."""
    product = await make_product(client, editor, admin=admin, stock=5000)
    body = assert_error(
        await place(client, customer, (product["id"], 600), (product["id"], 600)),
        422,
        "out_of_range",
    )
    assert body["errors"][0]["field"] == "items[0].quantity"


async def test_products_that_cannot_be_ordered(
    client: httpx.AsyncClient, editor: Caller, admin: Caller, customer: Caller
) -> None:
    unknown = await place(client, customer, (str(uuid.uuid4()), 1))
    assert_error(unknown, 422, "product_unavailable")
    archived = await make_product(client, editor, admin=admin, stock=5)
    await client.patch(
        f"/api/v1/products/{archived['id']}", json={"status": "archived"}, headers=editor.headers
    )
    assert_error(await place(client, customer, (archived["id"], 1)), 422, "product_unavailable")
    draft = await make_product(client, editor, admin=admin, stock=5, status="draft")
    assert_error(await place(client, customer, (draft["id"], 1)), 422, "product_unavailable")
    euro = await make_product(client, editor, admin=admin, stock=5, currency="EUR")
    dollar = await make_product(client, editor, admin=admin, stock=5)
    assert_error(
        await place(client, customer, (euro["id"], 1), (dollar["id"], 1)), 422, "mixed_currencies"
    )


async def test_a_total_too_large_is_rejected(
    client: httpx.AsyncClient, editor: Caller, admin: Caller, customer: Caller
) -> None:
    lines = []
    for _ in range(11):
        product = await make_product(client, editor, admin=admin, stock=2000, priceCents=10**10)
        lines.append((product["id"], 1000))
    response = await place(client, customer, *lines)
    assert_error(response, 422, "order_total_too_large")
    assert await _stock(client, admin, lines[0][0]) == 2000


async def test_orders_are_private(
    app: FastAPI, client: httpx.AsyncClient, editor: Caller, admin: Caller, customer: Caller
) -> None:
    product = await make_product(client, editor, admin=admin, stock=5)
    order = (await place(client, customer, (product["id"], 1))).json()["data"]
    other = await make_caller(app, client)
    assert_error(
        await client.get(f"{ORDERS}/{order['id']}", headers=other.headers), 404, "order_not_found"
    )
    assert (await client.get(f"{ORDERS}/{order['id']}", headers=admin.headers)).status_code == 200
    mine = (await client.get(ORDERS, headers=other.headers)).json()["data"]
    assert all(o["userId"] == other.id for o in mine)
    assert_error(await client.get(ORDERS), 401)


async def test_list_filters_and_sort(
    client: httpx.AsyncClient, editor: Caller, admin: Caller, customer: Caller
) -> None:
    product = await make_product(client, editor, admin=admin, stock=50, priceCents=100)
    first = (await place(client, customer, (product["id"], 3))).json()["data"]
    second = (await place(client, customer, (product["id"], 1))).json()["data"]
    await client.patch(
        f"{ORDERS}/{first['id']}", json={"status": "cancelled"}, headers=customer.headers
    )
    pending = (
        await client.get(ORDERS, params={"status": "pending"}, headers=customer.headers)
    ).json()["data"]
    assert second["id"] in [o["id"] for o in pending] and first["id"] not in [
        o["id"] for o in pending
    ]
    after = await client.get(
        ORDERS, params={"createdAfter": first["createdAt"]}, headers=customer.headers
    )
    assert [o["id"] for o in after.json()["data"]] == [second["id"]]
    by_total = (
        await client.get(ORDERS, params={"sort": "totalCents"}, headers=customer.headers)
    ).json()["data"]
    totals = [o["totalCents"] for o in by_total]
    assert totals == sorted(totals)
    naive = await client.get(
        ORDERS, params={"createdAfter": "2026-01-01T00:00:00"}, headers=customer.headers
    )
    assert_error(naive, 400)


async def test_expansion_costs_the_same_for_1_and_100_orders(
    app: FastAPI, client: httpx.AsyncClient, editor: Caller, admin: Caller
) -> None:
    buyer = await make_caller(app, client)
    products = [await make_product(client, editor, admin=admin, stock=500) for _ in range(3)]
    for n in range(100):
        lines = [(products[n % 3]["id"], 1), (products[(n + 1) % 3]["id"], 2)]
        assert (await place(client, buyer, *lines)).status_code == 201
    counts = {}
    for size in (1, 100):
        with counting_sql(app) as statements:
            response = await client.get(
                ORDERS,
                params={"limit": size, "expand": "user,items.product"},
                headers=buyer.headers,
            )
        assert response.status_code == 200
        page = response.json()["data"]
        assert len(page) == size
        assert page[0]["user"]["email"] == buyer.email
        assert page[0]["items"][0]["product"]["id"] in {p["id"] for p in products}
        counts[size] = len(statements)
    assert counts[1] == counts[100], counts
    plain = (await client.get(ORDERS, params={"limit": 1}, headers=buyer.headers)).json()["data"][0]
    assert "user" not in plain and "product" not in plain["items"][0]
    assert_error(
        await client.get(ORDERS, params={"expand": "payments"}, headers=buyer.headers), 400
    )
    one = await client.get(
        f"{ORDERS}/{plain['id']}", params={"expand": "user"}, headers=buyer.headers
    )
    assert one.json()["data"]["user"]["id"] == buyer.id


async def test_status_machine(
    client: httpx.AsyncClient, editor: Caller, admin: Caller, customer: Caller
) -> None:
    product = await make_product(client, editor, admin=admin, stock=10)
    order = (await place(client, customer, (product["id"], 1))).json()["data"]
    url = f"{ORDERS}/{order['id']}"

    async def move(status: str, who: Caller) -> httpx.Response:
        return await client.patch(url, json={"status": status}, headers=who.headers)

    assert_error(await move("shipped", admin), 422, "illegal_status_transition")
    assert_error(await move("shipped", customer), 403, "status_change_forbidden")
    assert (await pay(client, customer, order["id"])).status_code == 201
    assert (await move("shipped", admin)).json()["data"]["status"] == "shipped"
    assert_error(await move("cancelled", customer), 422, "illegal_status_transition")
    assert (await move("delivered", admin)).json()["data"]["status"] == "delivered"
    assert_error(await move("pending", admin), 422)
    assert_error(await move("refunded", admin), 400, "invalid_choice")


async def test_cancelling_releases_stock_once(
    client: httpx.AsyncClient, editor: Caller, admin: Caller, customer: Caller
) -> None:
    product = await make_product(client, editor, admin=admin, stock=10)
    order = (await place(client, customer, (product["id"], 4))).json()["data"]
    assert await _stock(client, admin, product["id"]) == 6
    url = f"{ORDERS}/{order['id']}"
    cancelled = await client.patch(url, json={"status": "cancelled"}, headers=customer.headers)
    assert cancelled.json()["data"]["status"] == "cancelled"
    assert cancelled.json()["data"]["cancelReason"] == "cancelled_by_customer"
    assert await _stock(client, admin, product["id"]) == 10
    again = await client.patch(url, json={"status": "cancelled"}, headers=admin.headers)
    assert_error(again, 422)
    assert await _stock(client, admin, product["id"]) == 10


async def test_lost_update_on_orders_is_412(
    client: httpx.AsyncClient, editor: Caller, admin: Caller, customer: Caller
) -> None:
    product = await make_product(client, editor, admin=admin, stock=10)
    order = (await place(client, customer, (product["id"], 1))).json()["data"]
    url = f"{ORDERS}/{order['id']}"
    etag = (await client.get(url, headers=admin.headers)).headers["etag"]
    assert (
        await client.patch(
            url, json={"status": "paid"}, headers={**admin.headers, "If-Match": etag}
        )
    ).status_code == 200
    stale = await client.patch(
        url, json={"status": "cancelled"}, headers={**admin.headers, "If-Match": etag}
    )
    assert_error(stale, 412)
