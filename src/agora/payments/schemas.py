import uuid
from datetime import datetime
from typing import Literal

from pydantic import Field

from agora.platform.schemas import VISIBLE, ApiInput, ApiModel, Integer


class PaymentCreate(ApiInput):
    order_id: uuid.UUID
    payment_method: str = Field(
        min_length=1, max_length=64, pattern=VISIBLE, examples=["pm_card_visa"]
    )


class PaymentRead(ApiModel):
    id: uuid.UUID
    order_id: uuid.UUID
    amount_cents: int
    currency: str
    status: Literal["processing", "succeeded", "failed"]
    refunded_cents: int
    failure_code: str | None
    created_at: datetime


MAX_REFUND_CENTS = 10**16
"""More than any order can total (1,000 lines of 1,000 at the highest price)."""


class RefundCreate(ApiInput):
    payment_id: uuid.UUID
    amount_cents: Integer = Field(ge=1, le=MAX_REFUND_CENTS)
    reason: str = Field(default="requested", max_length=64)


class RefundRead(ApiModel):
    id: uuid.UUID
    payment_id: uuid.UUID
    amount_cents: int
    status: Literal["pending", "succeeded", "failed"]
    reason: str
    created_at: datetime
