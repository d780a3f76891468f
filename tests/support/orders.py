"""Placing orders and paying for them through the API, for tests."""

from typing import Any

import httpx

from tests.support.auth import Caller
from tests.support.random_refs import unique

ADDRESS = {
    "name": "Ada Lovelace",
    "line1": "12 St James's Square",
    "city": "London",
    "postalCode": "SW1Y 4JH",
    "country": "GB",
}


def order_body(*lines: tuple[str, int]) -> dict[str, Any]:
    return {
        "items": [{"productId": pid, "quantity": qty} for pid, qty in lines],
        "shippingAddress": ADDRESS,
    }


async def place(
    client: httpx.AsyncClient, customer: Caller, *lines: tuple[str, int]
) -> httpx.Response:
    return await client.post("/api/v1/orders", json=order_body(*lines), headers=customer.headers)


async def pay(
    client: httpx.AsyncClient,
    customer: Caller,
    order_id: str,
    method: str = "pm_card_visa",
    key: str | None = None,
) -> httpx.Response:
    return await client.post(
        "/api/v1/payments",
        json={"orderId": order_id, "paymentMethod": method},
        headers={**customer.headers, "Idempotency-Key": key or unique("pay")},
    )
