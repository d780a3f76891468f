"""Ordering DTOs. Clients send product ids and quantities, never prices."""

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import MISSING, Field, StringConstraints

from agora.catalog import ProductRead
from agora.identity import UserSummary
from agora.ordering.domain import MAX_QUANTITY, OrderStatus
from agora.platform.schemas import VISIBLE, ApiInput, ApiModel, Integer

Country = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]


class Address(ApiInput):
    name: str = Field(min_length=1, max_length=100, pattern=VISIBLE)
    line1: str = Field(min_length=1, max_length=200, pattern=VISIBLE)
    line2: str = Field(default="", max_length=200)
    city: str = Field(min_length=1, max_length=100, pattern=VISIBLE)
    postal_code: str = Field(min_length=1, max_length=20, pattern=VISIBLE)
    country: Country = Field(description="ISO 3166-1 alpha-2, e.g. NO.")


class OrderLineIn(ApiInput):
    product_id: uuid.UUID
    quantity: Integer = Field(ge=1, le=MAX_QUANTITY)


class OrderCreate(ApiInput):
    """Lines for the same product are merged (their quantities added)."""

    items: list[OrderLineIn] = Field(min_length=1, max_length=100)
    shipping_address: Address


class OrderStatusChange(ApiInput):
    status: OrderStatus


class OrderItemRead(ApiModel):
    product_id: uuid.UUID
    sku: str
    name: str
    unit_price_cents: int
    quantity: int
    line_total_cents: int
    product: ProductRead | MISSING | None = Field(
        default=MISSING, description="With `expand=items.product`: the product as it is now."
    )


class OrderRead(ApiModel):
    id: uuid.UUID
    user_id: uuid.UUID
    status: OrderStatus
    currency: str
    total_cents: int
    shipping_address: Address
    items: list[OrderItemRead]
    created_at: datetime
    updated_at: datetime
    expires_at: datetime
    paid_at: datetime | None
    cancelled_at: datetime | None
    cancel_reason: str | None
    user: UserSummary | MISSING = Field(default=MISSING, description="With `expand=user`.")


class ReportCreate(ApiInput):
    """`POST /reports`: a sales report of the orders paid from `from` to `to` (UTC days,
    both included)."""

    type: Literal["sales"]
    from_: date = Field(alias="from")
    to: date
