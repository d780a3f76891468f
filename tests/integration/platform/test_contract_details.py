"""Contract details a reviewer found broken: Allow on 405, cursors bound to their collection,
idempotency by canonical JSON, API key scopes that mean what they say, no trusted proxy."""

from collections.abc import Callable

import httpx
import pytest

from agora.settings import Settings
from tests.support.assertions import assert_error
from tests.support.auth import Caller
from tests.support.catalog import PRODUCTS, make_product
from tests.support.instances import instances
from tests.support.orders import ADDRESS, pay, place


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("PATCH", "/api/v1/products", "GET, HEAD, POST"),
        ("PUT", "/api/v1/orders", "GET, HEAD, POST"),
        (
            "POST",
            f"{PRODUCTS}/01a00000-0000-7000-8000-000000000000",
            "GET, HEAD, PUT, PATCH, DELETE",
        ),
        ("POST", "/api/v1/users/me", "GET, HEAD, PATCH"),  # not /users/{id}: ids are UUIDs
        ("PUT", "/api/v1/api-keys", "GET, HEAD, POST"),
        ("POST", "/health", "GET, HEAD"),
    ],
)
async def test_allow_lists_every_method_of_the_path(
    client: httpx.AsyncClient, method: str, path: str, allowed: str
) -> None:
    response = await client.request(method, path)
    assert_error(response, 405, "method_not_allowed")
    assert response.headers["allow"] == allowed


async def test_a_cursor_belongs_to_its_collection(
    client: httpx.AsyncClient, editor: Caller, admin: Caller
) -> None:
    for _ in range(2):
        await make_product(client, editor)
    page = (await client.get(PRODUCTS, params={"limit": 1})).json()
    cursor = page["meta"]["nextCursor"]
    assert cursor
    assert (await client.get(PRODUCTS, params={"limit": 1, "cursor": cursor})).status_code == 200
    for path in ("/api/v1/users", "/api/v1/api-keys", "/api/v1/events", "/api/v1/orders"):
        elsewhere = await client.get(path, params={"cursor": cursor}, headers=admin.headers)
        assert_error(elsewhere, 400, "invalid_cursor")


async def test_the_same_json_with_keys_reordered_is_the_same_request(
    client: httpx.AsyncClient, editor: Caller, admin: Caller, customer: Caller
) -> None:
    product = await make_product(client, editor, admin=admin, stock=5)
    headers = {
        **customer.headers,
        "Idempotency-Key": "reordered",
        "Content-Type": "application/json",
    }
    first = await client.post(
        "/api/v1/orders",
        content=b'{"items": [{"productId": "%s", "quantity": 1}], "shippingAddress": %s}'
        % (product["id"].encode(), httpx.Response(200, json=ADDRESS).content),
        headers=headers,
    )
    assert first.status_code == 201, first.text
    again = await client.post(
        "/api/v1/orders",
        content=b'{ "shippingAddress": %s,\n "items": [{"quantity": 1, "productId": "%s"}]}'
        % (
            httpx.Response(200, json=dict(reversed(ADDRESS.items()))).content,
            product["id"].encode(),
        ),
        headers=headers,
    )
    assert again.status_code == 201 and again.headers["idempotent-replayed"] == "true"
    assert again.content == first.content


async def _key(client: httpx.AsyncClient, admin: Caller, *scopes: str) -> dict[str, str]:
    response = await client.post(
        "/api/v1/api-keys", json={"name": "scoped", "scopes": list(scopes)}, headers=admin.headers
    )
    assert response.status_code == 201, response.text
    return {"X-API-Key": response.json()["data"]["key"]}


async def test_every_scope_opens_its_routes_and_only_them(
    client: httpx.AsyncClient, admin: Caller, editor: Caller, customer: Caller
) -> None:
    product = await make_product(client, editor, admin=admin, stock=10)
    order = (await place(client, customer, (product["id"], 1))).json()["data"]
    payment = (await pay(client, customer, order["id"])).json()["data"]
    category = {"name": f"Scoped {product['sku']}"}
    reads = {
        "users:read": ("GET", "/api/v1/users", None),
        "orders:read": ("GET", "/api/v1/orders", None),
        "events:read": ("GET", "/api/v1/events", None),
        "products:read": ("GET", f"/api/v1/inventory/{product['id']}", None),
        "payments:write": ("GET", f"/api/v1/payments/{payment['id']}", None),
        "products:write": ("POST", "/api/v1/categories", category),
        "inventory:write": ("PUT", f"/api/v1/inventory/{product['id']}", {"quantity": 9}),
        "orders:write": ("PATCH", f"/api/v1/orders/{order['id']}", {"status": "shipped"}),
    }
    for scope, (method, path, body) in reads.items():
        granting = {scope, scope.replace(":read", ":write")}  # writing includes reading
        others = [other for other in reads if other not in granting]
        refused = await client.request(
            method, path, json=body, headers=await _key(client, admin, *others)
        )
        assert_error(refused, 403, "missing_scope")
        allowed = await client.request(
            method, path, json=body, headers=await _key(client, admin, scope)
        )
        assert allowed.status_code in (200, 201), (scope, allowed.text)


async def test_an_orders_key_sees_every_order_and_a_key_without_it_none(
    client: httpx.AsyncClient, admin: Caller, editor: Caller, customer: Caller
) -> None:
    product = await make_product(client, editor, admin=admin, stock=10)
    order = (await place(client, customer, (product["id"], 1))).json()["data"]
    listed = await client.get("/api/v1/orders", headers=await _key(client, admin, "orders:read"))
    assert order["id"] in {item["id"] for item in listed.json()["data"]}
    one = await client.get(
        f"/api/v1/orders/{order['id']}", headers=await _key(client, admin, "orders:write")
    )
    assert one.status_code == 200  # writing includes reading
    assert_error(
        await client.get("/api/v1/orders", headers=await _key(client, admin, "users:read")),
        403,
        "missing_scope",
    )


async def test_refunds_by_a_payments_key(
    client: httpx.AsyncClient, admin: Caller, editor: Caller, customer: Caller
) -> None:
    product = await make_product(client, editor, admin=admin, stock=10)
    order = (await place(client, customer, (product["id"], 1))).json()["data"]
    payment = (await pay(client, customer, order["id"])).json()["data"]
    body = {"paymentId": payment["id"], "amountCents": 100}
    refunded = await client.post(
        "/api/v1/refunds", json=body, headers=await _key(client, admin, "payments:write")
    )
    assert refunded.status_code == 201, refunded.text
    refused = await client.post(
        "/api/v1/refunds", json=body, headers=await _key(client, admin, "orders:write")
    )
    assert_error(refused, 403, "missing_scope")


async def test_no_proxy_is_trusted_by_default(make_settings: Callable[..., Settings]) -> None:
    """Rotating X-Forwarded-For from loopback used to buy a fresh per-IP budget each time."""
    assert Settings(_env_file=None).trusted_proxies == []
    limits = {"rate_limit_anonymous": "5/minute", "trusted_proxies": [], "redis_url": None}
    async with instances(make_settings, 1, ip="127.0.0.1", **limits) as [(_, client)]:
        statuses = [
            (
                await client.get(
                    "/.well-known/jwks.json", headers={"X-Forwarded-For": f"198.51.100.{n}"}
                )
            ).status_code
            for n in range(8)
        ]
    assert statuses.count(200) == 5 and statuses[5:] == [429, 429, 429]
