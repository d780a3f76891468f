"""The rules every input obeys (agora.platform.inputs): each case a client was seen to send.

Before these rules, PostgreSQL answered 500 to a NUL character anywhere and to integers past
64 bits, and SQLite stored the NUL; a merge patch 1,000 levels deep ran out of stack.
"""

import uuid
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from agora.ordering.models import Order
from tests.support.assertions import assert_error
from tests.support.auth import Caller, register
from tests.support.catalog import PRODUCTS, make_category, make_product, product_body
from tests.support.orders import ADDRESS, order_body

NUL = "a\x00b"


def _fields(response: httpx.Response, status: int = 400) -> set[str]:
    body = assert_error(response, status)
    return {error["field"] for error in body["errors"]}


async def test_nul_in_sign_in_and_registration_is_400(client: httpx.AsyncClient) -> None:
    login = await client.post(
        "/api/v1/auth/login", json={"email": f"x{NUL}@example.com", "password": "whatever-1"}
    )
    assert _fields(login) == {"email"}
    assert_error(login, 400, "invalid_character")
    registered = await register(client, name=NUL)
    assert _fields(registered) == {"name"}


@pytest.mark.parametrize(
    "query",
    [
        {"q": NUL},
        {"tag": NUL},
        {"sort": NUL},
        {NUL: "1"},
    ],
)
async def test_nul_in_a_query_parameter_is_400(
    client: httpx.AsyncClient, query: dict[str, str]
) -> None:
    assert_error(await client.get(PRODUCTS, params=query), 400, "invalid_character")


async def test_nul_in_catalog_writes_is_400(
    client: httpx.AsyncClient, admin: Caller, editor: Caller
) -> None:
    category = await client.post("/api/v1/categories", json={"name": NUL}, headers=admin.headers)
    assert _fields(category) == {"name"}
    for field in ("name", "description", "sku"):
        product = await client.post(
            PRODUCTS, json=product_body(**{field: NUL}), headers=editor.headers
        )
        assert _fields(product) == {field}
    tagged = await client.post(PRODUCTS, json=product_body(tags=[NUL]), headers=editor.headers)
    assert _fields(tagged) == {"tags[0]"}
    created = await make_product(client, editor)
    patched = await client.patch(
        f"{PRODUCTS}/{created['id']}", json={"description": NUL}, headers=editor.headers
    )
    assert _fields(patched) == {"description"}


async def test_nul_in_identity_writes_is_400(
    client: httpx.AsyncClient, admin: Caller, customer: Caller
) -> None:
    key = await client.post(
        "/api/v1/api-keys", json={"name": NUL, "scopes": ["users:read"]}, headers=admin.headers
    )
    assert _fields(key) == {"name"}
    me = await client.patch("/api/v1/users/me", json={"name": NUL}, headers=customer.headers)
    assert _fields(me) == {"name"}
    events = await client.get("/api/v1/events", params={"type": NUL}, headers=admin.headers)
    assert_error(events, 400, "invalid_character")


async def test_an_order_never_stores_a_nul(
    app: FastAPI, client: httpx.AsyncClient, editor: Caller, admin: Caller, customer: Caller
) -> None:
    product = await make_product(client, editor, admin=admin, stock=5)
    body = order_body((product["id"], 1))
    body["shippingAddress"] = {**ADDRESS, "line2": NUL}
    placed = await client.post("/api/v1/orders", json=body, headers=customer.headers)
    assert _fields(placed) == {"shippingAddress.line2"}
    async with app.state.runtime.database.session() as session:
        count = await session.scalar(
            select(func.count()).where(Order.user_id == uuid.UUID(customer.id))
        )
    assert count == 0


async def test_a_nul_in_an_object_key_is_400(client: httpx.AsyncClient, editor: Caller) -> None:
    body: dict[str, Any] = {**product_body(), NUL: 1}
    response = await client.post(PRODUCTS, json=body, headers=editor.headers)
    assert_error(response, 400, "invalid_character")


async def test_an_escaped_backslash_u0000_is_text_not_nul(
    client: httpx.AsyncClient, editor: Caller
) -> None:
    created = await client.post(
        PRODUCTS,
        content=b'{"sku": "ESC-%s", "name": "Literal \\\\u0000", "priceCents": 100}'
        % uuid.uuid4().hex[:8].encode(),
        headers={**editor.headers, "Content-Type": "application/json"},
    )
    assert created.status_code == 201, created.text
    assert created.json()["data"]["name"] == "Literal \\u0000"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("minPriceCents", str(2**63)),
        ("maxPriceCents", str(-(2**63) - 1)),
        ("page", str(2**63 - 1)),
    ],
)
async def test_integers_past_64_bits_in_the_query_are_400(
    client: httpx.AsyncClient, name: str, value: str
) -> None:
    response = await client.get(PRODUCTS, params={name: value})
    assert _fields(response) == {name}
    assert_error(response, 400, "out_of_range")


async def test_the_largest_page_still_answers(client: httpx.AsyncClient) -> None:
    page = (2**63 - 1) // 100
    response = await client.get(PRODUCTS, params={"page": page, "pageSize": 100})
    assert response.status_code == 200, response.text
    assert response.json()["data"] == []


async def test_integers_past_64_bits_in_a_body_are_400(
    client: httpx.AsyncClient, admin: Caller
) -> None:
    for number in (2**63, 2**64 - 1, 10**20, -(2**63) - 1):
        response = await client.post(
            "/api/v1/refunds",
            content=b'{"paymentId": "%s", "amountCents": %d}'
            % (str(uuid.uuid4()).encode(), number),
            headers={**admin.headers, "Content-Type": "application/json"},
        )
        assert _fields(response) == {"amountCents"}, number


@pytest.mark.parametrize("method", ["post", "put"])
async def test_a_v2_price_past_the_maximum_is_400(
    client: httpx.AsyncClient, editor: Caller, method: str
) -> None:
    body = product_body()
    body.pop("priceCents")
    body.pop("currency")
    body["price"] = {"amount": "999999999999", "currency": "USD"}
    if method == "post":
        response = await client.post("/api/v2/products", json=body, headers=editor.headers)
    else:
        existing = await make_product(client, editor)
        response = await client.put(
            f"/api/v2/products/{existing['id']}", json=body, headers=editor.headers
        )
    assert _fields(response) == {"price.amount"}  # at most 8 digits: within the maximum


@pytest.mark.parametrize("depth", [33, 900, 1000, 10_000])
async def test_deeply_nested_patches_are_400(
    client: httpx.AsyncClient, editor: Caller, depth: int
) -> None:
    product = await make_product(client, editor)
    document = b'{"description": ' + b'{"a": ' * depth + b"1" + b"}" * depth + b"}"
    response = await client.patch(
        f"{PRODUCTS}/{product['id']}",
        content=document,
        headers={**editor.headers, "Content-Type": "application/merge-patch+json"},
    )
    assert response.status_code == 400, response.text
    assert_error(response, 400)


async def test_nesting_within_the_limit_is_judged_by_the_schema(
    client: httpx.AsyncClient, editor: Caller
) -> None:
    product = await make_product(client, editor)
    depth = 30
    document = b'{"description": ' + b'{"a": ' * depth + b"1" + b"}" * depth + b"}"
    response = await client.patch(
        f"{PRODUCTS}/{product['id']}",
        content=document,
        headers={**editor.headers, "Content-Type": "application/merge-patch+json"},
    )
    body = assert_error(response, 400, "invalid_type")
    assert body["errors"][0]["field"] == "description"


async def test_an_expiry_without_a_timezone_is_400(
    client: httpx.AsyncClient, admin: Caller
) -> None:
    response = await client.post(
        "/api/v1/api-keys",
        json={"name": "naive", "scopes": ["users:read"], "expiresAt": "2030-01-01T00:00:00"},
        headers=admin.headers,
    )
    assert _fields(response) == {"expiresAt"}


@pytest.mark.parametrize("query", ["limit=1&limit=50", "q=a&q=b", "sort=name&sort=-name"])
async def test_a_repeated_query_parameter_is_400(client: httpx.AsyncClient, query: str) -> None:
    response = await client.get(f"{PRODUCTS}?{query}")
    assert_error(response, 400, "duplicate_parameter")


async def test_api_key_headers_of_garbage_are_401(client: httpx.AsyncClient) -> None:
    for key in ("agora_" + "\x00" * 12 + "_" + "x" * 43, "agora_" + "g" * 12 + "_" + "x" * 43):
        response = await client.get(
            "/api/v1/users/me", headers=[(b"X-API-Key", key.encode("latin-1"))]
        )
        assert_error(response, 401, "invalid_api_key")


async def test_rules_hold_on_categories_too(client: httpx.AsyncClient, admin: Caller) -> None:
    category = await make_category(client, admin)
    again = await client.get(f"/api/v1/categories?limit=5&limit=6&x={category['id']}")
    assert_error(again, 400, "duplicate_parameter")
