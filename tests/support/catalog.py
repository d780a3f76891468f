"""Making categories and products through the API, for tests."""

from typing import Any

import httpx

from tests.support.auth import Caller
from tests.support.random_refs import unique

PRODUCTS = "/api/v1/products"


async def make_category(
    client: httpx.AsyncClient, admin: Caller, name: str | None = None
) -> dict[str, Any]:
    response = await client.post(
        "/api/v1/categories", json={"name": name or unique("Category")}, headers=admin.headers
    )
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


def product_body(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "sku": unique("SKU").upper(),
        "name": "Burr grinder",
        "description": "Grinds coffee evenly.",
        "priceCents": 12900,
        "currency": "USD",
        "status": "active",
        "tags": ["coffee"],
    }
    body.update(changes)
    return body


async def make_product(
    client: httpx.AsyncClient,
    editor: Caller,
    *,
    stock: int | None = None,
    admin: Caller | None = None,
    **changes: Any,
) -> dict[str, Any]:
    response = await client.post(PRODUCTS, json=product_body(**changes), headers=editor.headers)
    assert response.status_code == 201, response.text
    product: dict[str, Any] = response.json()["data"]
    if stock is not None:
        assert admin is not None, "setting stock needs an admin"
        put = await client.put(
            f"/api/v1/inventory/{product['id']}", json={"quantity": stock}, headers=admin.headers
        )
        assert put.status_code == 200, put.text
        product["stock"] = stock
    return product
