"""What payments announce."""

import uuid

from agora.platform.events import Event


class _PaymentEvent(Event):
    SUBJECT = "payment"

    id: uuid.UUID
    order_id: uuid.UUID
    amount_cents: int
    currency: str
    status: str
    failure_code: str | None

    def subject_id(self) -> str:
        return str(self.id)


class PaymentSucceeded(_PaymentEvent):
    TYPE = "payment.succeeded"


class PaymentFailed(_PaymentEvent):
    TYPE = "payment.failed"


class RefundCreated(Event):
    """Money went back to the payer: the provider confirmed the refund (`POST /refunds` 201)."""

    TYPE = "refund.created"
    SUBJECT = "payment"  # in order with the payment's own events

    id: uuid.UUID
    payment_id: uuid.UUID
    amount_cents: int
    reason: str | None

    def subject_id(self) -> str:
        return str(self.payment_id)
