"""Ordering queries (CQRS: commands are in commands.py). A page of orders, however long, costs a
fixed number of statements: the orders, their lines, and one query per requested expansion."""

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from agora.catalog import ProductRead, ProductService
from agora.identity import UserService
from agora.ordering.domain import OrderStatus
from agora.ordering.errors import OrderNotFound
from agora.ordering.models import Order, OrderItem
from agora.ordering.permissions import sees_all_orders
from agora.ordering.repository import OrderRepository
from agora.ordering.schemas import OrderItemRead, OrderRead
from agora.platform.db import Database
from agora.platform.pagination import PageResult, SortField
from agora.platform.querying import CollectionQuery, CollectionSpec, Filter
from agora.platform.schemas import Timestamp, api_fields
from agora.platform.security import Principal

ORDERS = CollectionSpec(
    name="orders",
    filters=(
        Filter(
            "status",
            OrderStatus,
            lambda value: Order.status == value.value,
            "Orders in this status.",
        ),
        Filter(
            "createdAfter",
            Timestamp,
            lambda value: Order.created_at > value,
            "Orders placed after this moment (ISO 8601 with an offset).",
        ),
    ),
    sorts=(
        SortField("createdAt", Order.created_at, datetime),
        SortField("totalCents", Order.total_cents, int),
    ),
    default_sort="-createdAt",
    tiebreaker=SortField("id", Order.id, uuid.UUID),
    fields=api_fields(OrderRead),
    expand=frozenset({"user", "items.product"}),
)


@dataclass(frozen=True)
class VersionedOrder:
    """An order as read, with the row version a conditional write must match."""

    read: OrderRead
    version: int


class OrderReads:
    def __init__(self, database: Database, *, products: ProductService, users: UserService) -> None:
        self.database = database
        self.products = products
        self.users = users

    async def get(
        self, viewer: Principal, order_id: uuid.UUID, expand: frozenset[str] = frozenset()
    ) -> OrderRead:
        """One order: its owner and admins see it; anyone else gets a 404."""
        return (await self.get_versioned(viewer, order_id, expand)).read

    async def get_versioned(
        self, viewer: Principal, order_id: uuid.UUID, expand: frozenset[str] = frozenset()
    ) -> VersionedOrder:
        async with self.database.session() as session:
            order = await OrderRepository(session).get(order_id)
            if order is None or not (sees_all_orders(viewer) or order.user_id == viewer.id):
                raise OrderNotFound()
            items = await OrderRepository(session).items_of([order.id])
        read = (await self._assemble([order], items, expand))[0]
        return VersionedOrder(read, order.version)

    async def page(self, viewer: Principal, query: CollectionQuery) -> PageResult[OrderRead]:
        """A page of orders: one's own, or everyone's for admins."""
        base = query.where(OrderRepository.listing())
        if not sees_all_orders(viewer):
            base = base.where(Order.user_id == viewer.id)
        async with self.database.session() as session:
            page = await query.paginator.fetch(session, base)
            items = await OrderRepository(session).items_of([order.id for order in page.items])
        return PageResult(await self._assemble(page.items, items, query.expand), page.meta)

    async def _assemble(
        self,
        orders: list[Order],
        items: dict[uuid.UUID, list[OrderItem]],
        expand: frozenset[str],
    ) -> list[OrderRead]:
        users: dict[uuid.UUID, Any] = {}
        products: dict[uuid.UUID, Any] = {}
        if "user" in expand:
            users = await self.users.summaries({order.user_id for order in orders})
        if "items.product" in expand:
            ids = {item.product_id for lines in items.values() for item in lines}
            records = await self.products.records(ids)
            products = {pid: ProductRead.model_validate(record) for pid, record in records.items()}
        result = []
        for order in orders:
            lines = []
            for item in items[order.id]:
                line = OrderItemRead.model_validate(item)
                if "items.product" in expand:
                    line = line.model_copy(update={"product": products.get(item.product_id)})
                lines.append(line)
            read = OrderRead.model_validate(
                {**{c: getattr(order, c) for c in _ORDER_COLUMNS}, "items": lines}
            )
            if "user" in expand:
                read = read.model_copy(update={"user": users.get(order.user_id)})
            result.append(read)
        return result


_ORDER_COLUMNS = (
    "id", "user_id", "status", "currency", "total_cents", "shipping_address", "created_at",
    "updated_at", "expires_at", "paid_at", "cancelled_at", "cancel_reason",
)  # fmt: skip
