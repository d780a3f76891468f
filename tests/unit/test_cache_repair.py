"""Which products an event makes the catalog check, and the broker's topic patterns."""

import uuid
from dataclasses import replace
from datetime import UTC, datetime

from agora.catalog.consumers import CacheRepair
from agora.platform.broker import Delivery, Subscription


def _delivery(event_type: str, subject_type: str, subject_id: str, **payload: object) -> Delivery:
    return Delivery(
        id=uuid.uuid4(),
        type=event_type,
        version=1,
        subject_type=subject_type,
        subject_id=subject_id,
        payload=dict(payload),
        occurred_at=datetime.now(UTC),
    )


async def test_products_named_by_an_event_are_checked() -> None:
    checked: list[uuid.UUID] = []

    async def purge(product_id: uuid.UUID) -> None:
        checked.append(product_id)

    consumer = CacheRepair(purge)
    product, other = uuid.uuid4(), uuid.uuid4()
    lines = [{"productId": str(product), "quantity": 1}, {"productId": str(other), "quantity": 2}]
    await consumer(_delivery("product.updated", "product", str(product)))
    await consumer(_delivery("inventory.low", "product", str(other), productId=str(other)))
    await consumer(_delivery("order.created", "order", str(uuid.uuid4()), items=lines))
    await consumer(_delivery("order.cancelled", "order", str(uuid.uuid4()), items=lines[:1]))
    await consumer(_delivery("payment.succeeded", "payment", str(uuid.uuid4())))
    unknown = replace(_delivery("order.created", "order", "x", items=lines), version=2)
    await consumer(unknown)  # a shape it does not know: nothing guessed
    assert checked == [product, other, product, other, product]


def test_topic_patterns() -> None:
    async def ignore(_: Delivery) -> None:
        return None

    async def purge(_: uuid.UUID) -> None:
        return None

    catalog = CacheRepair(purge).subscription()
    assert catalog.wants("product.deleted") and catalog.wants("order.created")
    assert not catalog.wants("payment.succeeded") and not catalog.wants("order.paid")
    everything = Subscription("all", ("#",), ignore)
    assert everything.wants("refund.created")
    assert not Subscription("x", ("order.*",), ignore).wants("order.created.late")
