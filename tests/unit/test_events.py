"""Typed events: every context's declarations, their names and their payloads."""

import re
import uuid

import pytest
from pydantic import ValidationError

import agora.jobs.events
import agora.payments.events
import agora.webhooks.events  # noqa: F401
from agora.catalog.events import InventoryLow
from agora.ordering.events import OrderCreated, OrderedLine
from agora.platform.events import EVENT_TYPES, Event

ANNOUNCED = {
    "order.created",
    "order.paid",
    "order.shipped",
    "order.delivered",
    "order.cancelled",
    "payment.succeeded",
    "payment.failed",
    "refund.created",
    "product.created",
    "product.updated",
    "product.deleted",
    "inventory.low",
    "webhook_endpoint.disabled",
    "job.queued",
    "job.succeeded",
    "job.failed",
}


def test_every_event_is_declared_once() -> None:
    assert set(EVENT_TYPES) == ANNOUNCED
    for name, declared in EVENT_TYPES.items():
        assert re.fullmatch(r"[a-z_]+\.[a-z]+", name)
        assert name == declared.TYPE and declared.VERSION >= 1 and declared.SUBJECT


def test_a_second_declaration_of_a_type_is_refused() -> None:
    with pytest.raises(TypeError, match="declared twice"):

        class Again(Event):  # pragma: no cover - refused at class creation
            TYPE = "order.created"
            SUBJECT = "order"


def test_payloads_are_camel_case_json_and_read_back() -> None:
    order = OrderCreated(
        id=uuid.uuid4(),
        user_id=uuid.uuid4(),
        total_cents=1500,
        currency="USD",
        items=[OrderedLine(product_id=uuid.uuid4(), quantity=2)],
    )
    payload = order.model_dump(mode="json", by_alias=True)
    assert set(payload) == {"id", "userId", "totalCents", "currency", "items"}
    assert payload["items"][0]["quantity"] == 2
    assert EVENT_TYPES["order.created"].model_validate(payload) == order
    assert order.subject_id() == str(order.id)


def test_an_event_is_immutable_and_complete() -> None:
    low = InventoryLow(product_id=uuid.uuid4(), quantity=2, threshold=5)
    with pytest.raises(ValidationError):
        low.quantity = 3  # type: ignore[misc]
    with pytest.raises(ValidationError):
        InventoryLow(product_id=uuid.uuid4(), quantity=2)  # type: ignore[call-arg]
