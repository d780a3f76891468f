"""Events through a real RabbitMQ: confirmed publishing, durable queues, order kept, a failed
handler retried in place."""

import asyncio
import secrets
import uuid
from datetime import UTC, datetime

import pytest

from agora.platform.broker import Delivery, RabbitBroker, Subscription
from agora.platform.ids import new_id
from tests.support import backends

pytestmark = pytest.mark.needs_broker


def _order_event(n: int, event_type: str = "order.created") -> Delivery:
    return Delivery(
        id=new_id(),
        type=event_type,
        version=1,
        subject_type="order",
        subject_id=str(uuid.uuid4()),
        payload={"n": n},
        occurred_at=datetime.now(UTC),
    )


async def test_events_travel_through_rabbitmq_in_order_and_failures_retry_in_place() -> None:
    assert backends.BROKER_URL is not None
    prefix = f"agora-test-{secrets.token_hex(4)}"
    # One broker both publishes and consumes, as in an Agora process: its publisher declares
    # the consumers' queues first, so nothing is published to an exchange with no queue.
    broker = RabbitBroker(backends.BROKER_URL, prefix=prefix, retry_delay=0.05)
    handled: list[int] = []
    failed_once: set[int] = set()

    async def handle(delivery: Delivery) -> None:
        n = delivery.payload["n"]
        if n == 5 and n not in failed_once:
            failed_once.add(n)
            raise RuntimeError("the database blinked")
        handled.append(n)

    try:
        await broker.start([Subscription("orders", ("order.*",), handle)])
        events = [_order_event(n) for n in range(40)]
        await broker.publish([*events[:20], _order_event(99, "payment.succeeded"), *events[20:]])
        for _ in range(200):
            if len(handled) >= 40:
                break
            await asyncio.sleep(0.05)
        assert handled == list(range(40))  # in order, the failed one retried before the rest
        assert failed_once == {5}
        await broker.ping()
    finally:
        await broker.close()
        await backends.delete_queues(backends.BROKER_URL, [f"{prefix}.orders"])


async def test_an_unreachable_broker_fails_fast() -> None:
    broker = RabbitBroker("amqp://guest:guest@127.0.0.1:1/", publish_timeout=1)
    with pytest.raises(Exception):  # noqa: B017 - whatever the client raises for "refused"
        await asyncio.wait_for(broker.publish([_order_event(1)]), 10)
    with pytest.raises(Exception):  # noqa: B017
        await asyncio.wait_for(broker.ping(), 10)
    await broker.close()
