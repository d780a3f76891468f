"""What ordering announces."""

import uuid

from agora.platform.events import Event
from agora.platform.schemas import ApiModel


class _OrderEvent(Event):
    SUBJECT = "order"

    id: uuid.UUID

    def subject_id(self) -> str:
        return str(self.id)


class OrderedLine(ApiModel):
    """One line of an order, in `OrderCreated`."""

    product_id: uuid.UUID
    quantity: int


class OrderCreated(_OrderEvent):
    TYPE = "order.created"

    user_id: uuid.UUID
    total_cents: int
    currency: str
    items: list[OrderedLine]


class OrderPaid(_OrderEvent):
    TYPE = "order.paid"

    payment_id: uuid.UUID | None
    """The payment that paid it; none when an admin marked it paid."""
    by: uuid.UUID | None = None
    """The admin who marked it paid, if one did."""


class _OrderMoved(_OrderEvent):
    by: uuid.UUID
    """Who moved it (an admin, or the API key's owner)."""


class OrderShipped(_OrderMoved):
    TYPE = "order.shipped"


class OrderDelivered(_OrderMoved):
    TYPE = "order.delivered"


class OrderCancelled(_OrderEvent):
    TYPE = "order.cancelled"

    reason: str
    items: list[OrderedLine]
    """What went back to stock."""
    refunds: list[uuid.UUID]
    """The refunds that paid a cancelled paid order back."""


SHIPPING = {"shipped": OrderShipped, "delivered": OrderDelivered}
