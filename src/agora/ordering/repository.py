"""Ordering queries. Never commits."""

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from agora.ordering.models import Order, OrderItem


class OrderRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, order: Order) -> None:
        self.session.add(order)

    async def get(self, order_id: uuid.UUID) -> Order | None:
        order: Order | None = await self.session.get(Order, order_id)
        return order

    async def lock(self, order_id: uuid.UUID) -> Order | None:
        order: Order | None = await self.session.scalar(
            select(Order).where(Order.id == order_id).with_for_update()
        )
        return order

    async def items_of(self, order_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[OrderItem]]:
        """The lines of several orders in one query."""
        found: dict[uuid.UUID, list[OrderItem]] = {order_id: [] for order_id in order_ids}
        if not order_ids:
            return found
        rows = await self.session.scalars(
            select(OrderItem)
            .where(OrderItem.order_id.in_(order_ids))
            .order_by(OrderItem.order_id, OrderItem.position)
        )
        for item in rows:
            found[item.order_id].append(item)
        return found

    async def move(self, order_id: uuid.UUID, *, from_status: str, values: dict[str, Any]) -> bool:
        """Change an order only if it is still in `from_status` (claims it exactly once)."""
        result: Any = await self.session.execute(
            update(Order)
            .where(Order.id == order_id, Order.status == from_status)
            .values(**values, version=Order.version + 1)
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount == 1)

    async def overdue(self, now: datetime, limit: int) -> list[uuid.UUID]:
        rows = await self.session.scalars(
            select(Order.id)
            .where(Order.status == "pending", Order.expires_at <= now)
            .order_by(Order.expires_at)
            .limit(limit)
        )
        return list(rows)

    @staticmethod
    def listing() -> Select[Order]:
        return select(Order)
