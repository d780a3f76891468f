"""The contracts between ordering and payments.

Payments imports `OrderPayments` (to read the order it charges and to mark it paid inside its
own transaction). Ordering declares `Refunds`, which payments implements, so that cancelling a
paid order can refund it without ordering importing payments.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from agora.ordering.domain import OrderStatus
from agora.ordering.errors import OrderNotFound
from agora.ordering.events import OrderPaid
from agora.ordering.repository import OrderRepository
from agora.platform import events
from agora.platform.db import Database
from agora.platform.security import Principal, Role


@dataclass(frozen=True)
class PayableOrder:
    id: uuid.UUID
    user_id: uuid.UUID
    status: OrderStatus
    total_cents: int
    currency: str


class Refunds(Protocol):
    async def reserve_full_refund(
        self, session: AsyncSession, order_id: uuid.UUID
    ) -> list[uuid.UUID]:
        """Inside the cancelling transaction: set aside a refund of what was paid."""
        ...

    async def execute(self, refund_ids: list[uuid.UUID]) -> None:
        """After commit: carry the reserved refunds out with the provider."""
        ...


class OrderPayments:
    def __init__(self, database: Database) -> None:
        self.database = database

    async def payable(self, order_id: uuid.UUID, *, payer: Principal) -> PayableOrder:
        """The order `payer` wants to pay (404 unless it is theirs)."""
        async with self.database.session() as session:
            order = await OrderRepository(session).get(order_id)
        if order is None or (order.user_id != payer.id and not payer.has_role(Role.ADMIN)):
            raise OrderNotFound()
        return PayableOrder(
            order.id, order.user_id, OrderStatus(order.status), order.total_cents, order.currency
        )

    async def mark_paid(
        self, session: AsyncSession, order_id: uuid.UUID, *, payment_id: uuid.UUID, at: datetime
    ) -> bool:
        """In the payment's transaction: pending -> paid, with `order.paid`; False if not so."""
        moved = await OrderRepository(session).move(
            order_id,
            from_status=OrderStatus.PENDING,
            values={"status": "paid", "paid_at": at, "updated_at": at},
        )
        if moved:
            events.record(session, OrderPaid(id=order_id, payment_id=payment_id))
        return moved
