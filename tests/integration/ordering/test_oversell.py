"""No oversell: 50 customers race for 10 units; exactly 10 orders succeed, on every engine."""

import asyncio
import uuid

import httpx
from fastapi import FastAPI
from sqlalchemy import func, select

from agora.ordering.models import OrderItem
from tests.support.auth import Caller, make_caller
from tests.support.catalog import make_product
from tests.support.orders import place


async def test_fifty_concurrent_orders_for_ten_units(
    app: FastAPI, client: httpx.AsyncClient, editor: Caller, admin: Caller
) -> None:
    product = await make_product(client, editor, admin=admin, stock=10)
    customers = [await make_caller(app, client) for _ in range(50)]
    responses = await asyncio.gather(
        *(place(client, customer, (product["id"], 1)) for customer in customers)
    )
    statuses = [r.status_code for r in responses]
    assert statuses.count(201) == 10, statuses
    assert statuses.count(422) == 40
    assert all(
        r.json()["errors"][0]["code"] == "insufficient_stock"
        for r in responses
        if r.status_code == 422
    )
    stock = await client.get(f"/api/v1/inventory/{product['id']}", headers=admin.headers)
    assert stock.json()["data"]["quantity"] == 0
    async with app.state.runtime.database.session() as session:
        ordered = await session.scalar(
            select(func.sum(OrderItem.quantity)).where(
                OrderItem.product_id == uuid.UUID(product["id"])
            )
        )
    assert ordered == 10
