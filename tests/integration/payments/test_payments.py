"""Payments and refunds: sandbox outcomes, never twice, breaker, refunds bounded by payments."""

import asyncio
from collections.abc import Callable

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from agora.platform.events import EventRecord
from agora.settings import Settings
from tests.support.assertions import assert_error
from tests.support.auth import Caller, make_caller
from tests.support.catalog import make_product
from tests.support.instances import instances
from tests.support.orders import pay, place


async def _order(
    client: httpx.AsyncClient, editor: Caller, admin: Caller, customer: Caller, price: int = 5000
) -> dict[str, object]:
    product = await make_product(client, editor, admin=admin, stock=100, priceCents=price)
    response = await place(client, customer, (product["id"], 2))
    assert response.status_code == 201, response.text
    order: dict[str, object] = response.json()["data"]
    return order


async def _event_types(app: FastAPI, subject_id: str) -> list[str]:
    async with app.state.runtime.database.session() as session:
        return list(
            await session.scalars(
                select(EventRecord.type)
                .where(EventRecord.subject_id == subject_id)
                .order_by(EventRecord.id)
            )
        )


async def test_a_successful_payment_marks_the_order_paid(
    app: FastAPI, client: httpx.AsyncClient, editor: Caller, admin: Caller, customer: Caller
) -> None:
    order = await _order(client, editor, admin, customer)
    response = await pay(client, customer, str(order["id"]))
    assert response.status_code == 201, response.text
    payment = response.json()["data"]
    assert payment["status"] == "succeeded" and payment["amountCents"] == 10000
    assert response.headers["location"].endswith(f"/api/v1/payments/{payment['id']}")
    paid = (await client.get(f"/api/v1/orders/{order['id']}", headers=customer.headers)).json()[
        "data"
    ]
    assert paid["status"] == "paid" and paid["paidAt"] is not None
    assert await _event_types(app, payment["id"]) == ["payment.succeeded"]
    assert (await _event_types(app, str(order["id"])))[-1] == "order.paid"
    again = await pay(client, customer, str(order["id"]))
    assert_error(again, 422, "order_already_paid")
    fetched = await client.get(f"/api/v1/payments/{payment['id']}", headers=customer.headers)
    assert fetched.json()["data"]["id"] == payment["id"]


async def test_a_declined_card_leaves_the_order_pending(
    app: FastAPI, client: httpx.AsyncClient, editor: Caller, admin: Caller, customer: Caller
) -> None:
    order = await _order(client, editor, admin, customer)
    declined = await pay(client, customer, str(order["id"]), "pm_card_declined")
    body = assert_error(declined, 422, "payment_declined")
    assert "card_declined" in body["message"]
    state = (await client.get(f"/api/v1/orders/{order['id']}", headers=customer.headers)).json()[
        "data"
    ]
    assert state["status"] == "pending"
    assert (await pay(client, customer, str(order["id"]), "pm_card_visa")).status_code == 201


async def test_paying_needs_a_key_and_ones_own_order(
    app: FastAPI, client: httpx.AsyncClient, editor: Caller, admin: Caller, customer: Caller
) -> None:
    order = await _order(client, editor, admin, customer)
    no_key = await client.post(
        "/api/v1/payments",
        json={"orderId": order["id"], "paymentMethod": "pm_card_visa"},
        headers=customer.headers,
    )
    assert_error(no_key, 400, "idempotency_key_required")
    stranger = await make_caller(app, client)
    assert_error(await pay(client, stranger, str(order["id"])), 404, "order_not_found")
    assert_error(await pay(client, customer, "00000000-0000-7000-8000-000000000000"), 404)
    cancelled = await _order(client, editor, admin, customer)
    await client.patch(
        f"/api/v1/orders/{cancelled['id']}", json={"status": "cancelled"}, headers=customer.headers
    )
    assert_error(await pay(client, customer, str(cancelled["id"])), 422, "order_not_payable")


async def test_an_outage_is_503_and_charges_nothing(
    app: FastAPI, client: httpx.AsyncClient, editor: Caller, admin: Caller, customer: Caller
) -> None:
    order = await _order(client, editor, admin, customer)
    response = await pay(client, customer, str(order["id"]), "pm_card_error")
    assert_error(response, 503)
    assert "retry-after" in response.headers
    assert (await client.get(f"/api/v1/orders/{order['id']}", headers=customer.headers)).json()[
        "data"
    ]["status"] == "pending"
    assert (await pay(client, customer, str(order["id"]))).status_code == 201


async def test_a_lost_answer_is_retried_and_charged_once(
    app: FastAPI, client: httpx.AsyncClient, editor: Caller, admin: Caller, customer: Caller
) -> None:
    """The first answer never arrives; the retry carries the same key and gets that charge."""
    provider = app.state.payments.provider
    before = provider.charge_count()
    order = await _order(client, editor, admin, customer)
    response = await pay(client, customer, str(order["id"]), "pm_card_flaky")
    assert response.status_code == 201, response.text
    payment_id = response.json()["data"]["id"]
    assert provider.attempts[payment_id] == 2
    assert provider.charge_count() == before + 1


@pytest.mark.parametrize("parallel", [20])
async def test_twenty_parallel_payments_charge_once(
    app: FastAPI,
    client: httpx.AsyncClient,
    editor: Caller,
    admin: Caller,
    customer: Caller,
    parallel: int,
) -> None:
    provider = app.state.payments.provider
    before = provider.charge_count()
    order = await _order(client, editor, admin, customer)
    same_key = await asyncio.gather(
        *(pay(client, customer, str(order["id"]), key="same-key") for _ in range(parallel))
    )
    statuses = sorted(r.status_code for r in same_key)
    assert statuses.count(201) >= 1 and set(statuses) <= {201, 409}, statuses
    replays = [
        r
        for r in same_key
        if r.status_code == 201 and r.headers.get("idempotent-replayed") == "true"
    ]
    assert len({r.json()["data"]["id"] for r in same_key if r.status_code == 201}) == 1
    assert len(replays) == statuses.count(201) - 1
    other_keys = await asyncio.gather(*(pay(client, customer, str(order["id"])) for _ in range(5)))
    assert {r.status_code for r in other_keys} <= {409, 422}  # in progress, or already paid
    assert provider.charge_count() == before + 1


async def test_refunds_never_exceed_the_payment(
    client: httpx.AsyncClient, editor: Caller, admin: Caller, customer: Caller
) -> None:
    order = await _order(client, editor, admin, customer)  # 10000 paid
    payment = (await pay(client, customer, str(order["id"]))).json()["data"]

    async def refund(amount: int, who: Caller = admin) -> httpx.Response:
        return await client.post(
            "/api/v1/refunds",
            json={"paymentId": payment["id"], "amountCents": amount},
            headers=who.headers,
        )

    assert_error(await refund(100, customer), 403)
    assert_error(await refund(10001), 422, "refund_exceeds_payment")
    assert_error(await refund(0), 400)
    first = await refund(4000)
    assert first.status_code == 201 and first.json()["data"]["status"] == "succeeded"
    results = await asyncio.gather(*(refund(2500) for _ in range(5)))
    assert sorted(r.status_code for r in results) == [201, 201, 422, 422, 422]
    state = (await client.get(f"/api/v1/payments/{payment['id']}", headers=admin.headers)).json()[
        "data"
    ]
    assert state["refundedCents"] == 9000
    assert_error(await refund(1001), 422, "refund_exceeds_payment")
    assert (await refund(1000)).status_code == 201


async def test_cancelling_a_paid_order_refunds_it_and_releases_stock(
    app: FastAPI, client: httpx.AsyncClient, editor: Caller, admin: Caller, customer: Caller
) -> None:
    product = await make_product(client, editor, admin=admin, stock=10, priceCents=700)
    order = (await place(client, customer, (product["id"], 3))).json()["data"]
    payment = (await pay(client, customer, order["id"])).json()["data"]
    cancelled = await client.patch(
        f"/api/v1/orders/{order['id']}", json={"status": "cancelled"}, headers=customer.headers
    )
    assert cancelled.status_code == 200
    state = (
        await client.get(f"/api/v1/payments/{payment['id']}", headers=customer.headers)
    ).json()["data"]
    assert state["refundedCents"] == 2100
    stock = (await client.get(f"/api/v1/inventory/{product['id']}", headers=admin.headers)).json()[
        "data"
    ]["quantity"]
    assert stock == 10
    assert "refund.created" in await _event_types(app, payment["id"])


async def test_the_breaker_opens_and_closes_again(make_settings: Callable[..., Settings]) -> None:
    changes = {
        "payment_breaker_threshold": 2,
        "payment_breaker_reset_seconds": 0.5,
        "payment_attempts": 1,
    }
    async with instances(make_settings, 1, **changes) as [(app, client)]:
        editor = await make_caller(app, client, "editor")
        admin = await make_caller(app, client, "admin")
        customer = await make_caller(app, client)
        order = await _order(client, editor, admin, customer)
        provider = app.state.payments.provider
        provider.outage = True
        for _ in range(2):
            assert_error(
                await pay(client, customer, str(order["id"])), 503, "dependency_unavailable"
            )
        opened = await pay(client, customer, str(order["id"]))
        body = assert_error(opened, 503, "circuit_open")
        assert opened.headers["retry-after"] == "1"
        assert "paused" in body["message"]
        calls = sum(provider.attempts.values())
        assert_error(await pay(client, customer, str(order["id"])), 503, "circuit_open")
        assert sum(provider.attempts.values()) == calls  # an open breaker sends nothing
        provider.outage = False
        await asyncio.sleep(0.6)
        assert (
            await pay(client, customer, str(order["id"]))
        ).status_code == 201  # half-open -> closed
        assert await app.state.payments.gateway.breakers.state("payments") == "closed"


async def test_an_unanswered_charge_is_settled_later_exactly_once(
    make_settings: Callable[..., Settings],
) -> None:
    """The provider charges but its answer is lost and no retry is left: the payment stays
    open, the client is told not to pay again, and the settle job finds the charge."""
    from datetime import timedelta

    async with instances(make_settings, 1, payment_attempts=1, payment_timeout_seconds=0.2) as [
        (app, client)
    ]:
        editor = await make_caller(app, client, "editor")
        admin = await make_caller(app, client, "admin")
        customer = await make_caller(app, client)
        order = await _order(client, editor, admin, customer)
        provider = app.state.payments.provider
        unknown = await pay(client, customer, str(order["id"]), "pm_card_flaky")
        assert_error(unknown, 503, "payment_outcome_unknown")
        assert_error(await pay(client, customer, str(order["id"])), 409, "payment_in_progress")
        assert (await client.get(f"/api/v1/orders/{order['id']}", headers=customer.headers)).json()[
            "data"
        ]["status"] == "pending"
        runtime = app.state.runtime
        runtime.clock.offset = timedelta(minutes=5)
        try:
            assert await app.state.background.scheduler.run_once("settle_payments") == 1
        finally:
            runtime.clock.offset = timedelta(0)
        state = (
            await client.get(f"/api/v1/orders/{order['id']}", headers=customer.headers)
        ).json()["data"]
        assert state["status"] == "paid"
        assert provider.charge_count() == 1


async def test_an_unanswered_refund_is_kept_and_paid_back_once(
    make_settings: Callable[..., Settings],
) -> None:
    """The provider pays a refund out but its answer is lost: the reservation is kept, a retry
    with the same key finishes that refund, and the settle job finishes one never retried."""
    from datetime import timedelta

    async with instances(make_settings, 1, payment_attempts=1, payment_timeout_seconds=0.2) as [
        (app, client)
    ]:
        editor = await make_caller(app, client, "editor")
        admin = await make_caller(app, client, "admin")
        customer = await make_caller(app, client)
        order = await _order(client, editor, admin, customer)  # 10000 paid
        payment = (await pay(client, customer, str(order["id"]))).json()["data"]
        provider = app.state.payments.provider

        async def refund(amount: int, key: str) -> httpx.Response:
            return await client.post(
                "/api/v1/refunds",
                json={"paymentId": payment["id"], "amountCents": amount},
                headers={**admin.headers, "Idempotency-Key": key},
            )

        provider.refund_answers_lost = True
        assert_error(await refund(4000, "refund-a"), 503, "refund_outcome_unknown")
        assert_error(await refund(3000, "refund-b"), 503, "refund_outcome_unknown")
        # Both stay reserved: 3000 more would pass the payment.
        assert_error(await refund(3001, "refund-c"), 422, "refund_exceeds_payment")
        provider.refund_answers_lost = False

        retried = await refund(4000, "refund-a")
        assert retried.status_code == 201, retried.text
        assert retried.json()["data"]["status"] == "succeeded"
        runtime = app.state.runtime
        runtime.clock.offset = timedelta(minutes=5)
        try:
            assert await app.state.background.scheduler.run_once("settle_payments") == 1  # refund-b
        finally:
            runtime.clock.offset = timedelta(0)
        state = (
            await client.get(f"/api/v1/payments/{payment['id']}", headers=admin.headers)
        ).json()["data"]
        assert state["refundedCents"] == 7000
        assert provider.refunded_cents() == 7000  # paid back once each, never again
