"""Idempotency-Key on POST: replay, mismatch, in flight, not consumed by rejected requests."""

import asyncio
import uuid

import httpx
from fastapi import FastAPI
from sqlalchemy import func, select

from agora.ordering.models import Order
from tests.support.assertions import assert_error
from tests.support.auth import Caller
from tests.support.catalog import make_product
from tests.support.orders import order_body


async def _post(
    client: httpx.AsyncClient, who: Caller, body: dict[str, object], key: str
) -> httpx.Response:
    return await client.post(
        "/api/v1/orders", json=body, headers={**who.headers, "Idempotency-Key": key}
    )


async def _orders_of(app: FastAPI, user_id: str) -> int:
    async with app.state.runtime.database.session() as session:
        count = await session.scalar(
            select(func.count()).where(Order.user_id == uuid.UUID(user_id))
        )
        return int(count or 0)


async def test_a_repeat_replays_the_first_answer(
    app: FastAPI, client: httpx.AsyncClient, editor: Caller, admin: Caller, customer: Caller
) -> None:
    product = await make_product(client, editor, admin=admin, stock=10)
    body = order_body((product["id"], 1))
    first = await _post(client, customer, body, "order-1")
    second = await _post(client, customer, body, "order-1")
    assert first.status_code == second.status_code == 201
    assert second.content == first.content
    assert second.headers["location"] == first.headers["location"]
    assert second.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert await _orders_of(app, customer.id) == 1


async def test_same_key_different_body_is_422(
    client: httpx.AsyncClient, editor: Caller, admin: Caller, customer: Caller
) -> None:
    product = await make_product(client, editor, admin=admin, stock=10)
    assert (
        await _post(client, customer, order_body((product["id"], 1)), "order-2")
    ).status_code == 201
    other = await _post(client, customer, order_body((product["id"], 2)), "order-2")
    assert_error(other, 422, "idempotency_key_reused")


async def test_keys_belong_to_their_user(
    app: FastAPI, client: httpx.AsyncClient, editor: Caller, admin: Caller, customer: Caller
) -> None:
    from tests.support.auth import make_caller

    product = await make_product(client, editor, admin=admin, stock=10)
    someone = await make_caller(app, client)
    body = order_body((product["id"], 1))
    assert (await _post(client, customer, body, "shared-key")).status_code == 201
    theirs = await _post(client, someone, body, "shared-key")
    assert theirs.status_code == 201 and "idempotent-replayed" not in theirs.headers


async def test_rejected_requests_do_not_consume_the_key(
    client: httpx.AsyncClient, editor: Caller, admin: Caller, customer: Caller
) -> None:
    product = await make_product(client, editor, admin=admin, stock=10)
    bad = await _post(client, customer, {"items": []}, "order-3")
    assert_error(bad, 400)
    fixed = await _post(client, customer, order_body((product["id"], 1)), "order-3")
    assert fixed.status_code == 201  # the 400 did not use the key up
    unauthenticated = await client.post(
        "/api/v1/orders",
        json=order_body((product["id"], 1)),
        headers={"Idempotency-Key": "order-4"},
    )
    assert_error(unauthenticated, 401)


async def test_business_failures_are_replayed(
    client: httpx.AsyncClient, editor: Caller, admin: Caller, customer: Caller
) -> None:
    product = await make_product(client, editor, admin=admin, stock=1)
    body = order_body((product["id"], 5))
    first = await _post(client, customer, body, "order-5")
    assert_error(first, 422, "insufficient_stock")
    await client.put(
        f"/api/v1/inventory/{product['id']}", json={"quantity": 50}, headers=admin.headers
    )
    second = await _post(client, customer, body, "order-5")
    assert second.status_code == 422 and second.headers["idempotent-replayed"] == "true"
    replayed = assert_error(second, 422, "insufficient_stock")  # traceId is this answer's
    assert replayed["message"] == first.json()["message"]


async def test_twenty_parallel_requests_with_one_key_make_one_order(
    app: FastAPI, client: httpx.AsyncClient, editor: Caller, admin: Caller, customer: Caller
) -> None:
    product = await make_product(client, editor, admin=admin, stock=100)
    body = order_body((product["id"], 1))
    responses = await asyncio.gather(*(_post(client, customer, body, "burst") for _ in range(20)))
    statuses = [r.status_code for r in responses]
    assert set(statuses) <= {201, 409}, statuses
    created = {r.json()["data"]["id"] for r in responses if r.status_code == 201}
    assert len(created) == 1
    assert await _orders_of(app, customer.id) == 1
    conflicts = [r for r in responses if r.status_code == 409]
    for conflict in conflicts:
        assert_error(conflict, 409, "idempotency_key_in_flight")


async def test_malformed_keys_are_400(client: httpx.AsyncClient, customer: Caller) -> None:
    for key in ("x" * 256, "tab\there", "ünï"):
        response = await client.post(
            "/api/v1/orders",
            json={},
            headers=[*customer.headers.items(), ("Idempotency-Key", key.encode())],
        )
        assert_error(response, 400, "malformed_idempotency_key")


async def test_answers_that_hand_out_secrets_are_never_stored(
    client: httpx.AsyncClient, customer: Caller, admin: Caller
) -> None:
    """Sign-in and new API keys carry secrets: a repeat under the same key runs again and is
    never answered from a stored copy (identity declares these paths `never_stored`)."""
    credentials = {"email": customer.email, "password": customer.password}
    tokens = []
    for _ in range(2):
        response = await client.post(
            "/api/v1/auth/login", json=credentials, headers={"Idempotency-Key": "sign-in-1"}
        )
        assert response.status_code == 200, response.text
        assert "idempotent-replayed" not in response.headers
        tokens.append(response.json()["data"]["accessToken"])
    assert tokens[0] != tokens[1]

    body = {"name": f"replay-{uuid.uuid4().hex[:8]}", "scopes": ["products:read"]}
    keys = []
    for _ in range(2):
        response = await client.post(
            "/api/v1/api-keys", json=body, headers={**admin.headers, "Idempotency-Key": "key-1"}
        )
        assert response.status_code == 201, response.text
        assert "idempotent-replayed" not in response.headers
        keys.append(response.json()["data"]["key"])
    assert keys[0] != keys[1]
