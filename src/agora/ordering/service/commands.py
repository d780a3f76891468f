"""Ordering commands: each one use case, one transaction (CQRS: queries are in queries.py)."""

import uuid
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from agora.catalog import InventoryService, ProductService, ProductStatus
from agora.ordering.billing import Refunds
from agora.ordering.domain import (
    CUSTOMER_TRANSITIONS,
    MAX_QUANTITY,
    OrderStatus,
    check_transition,
    merge_lines,
    order_total,
)
from agora.ordering.errors import (
    InsufficientStock,
    MixedCurrencies,
    OrderNotFound,
    ProductUnavailable,
    StatusChangeForbidden,
)
from agora.ordering.events import (
    SHIPPING,
    OrderCancelled,
    OrderCreated,
    OrderedLine,
    OrderPaid,
)
from agora.ordering.models import Order, OrderItem
from agora.ordering.permissions import manages_orders
from agora.ordering.repository import OrderRepository
from agora.ordering.schemas import OrderCreate
from agora.platform import events
from agora.platform.clock import Clock
from agora.platform.db import Database
from agora.platform.errors import Conflict, FieldError, PreconditionFailed, RuleViolation
from agora.platform.idempotency import NO_KEY, Attempt
from agora.platform.ids import new_id
from agora.platform.security import Principal

ORDER_PLACED = "order_placed"
"""Recovery point: the order is committed (an Idempotency-Key's retry answers with it)."""


class PlaceOrder:
    """Price the lines from the catalog, take the stock, record the order: all or nothing."""

    def __init__(
        self,
        database: Database,
        clock: Clock,
        *,
        products: ProductService,
        inventory: InventoryService,
        payment_window: timedelta,
    ) -> None:
        self.database = database
        self.clock = clock
        self.products = products
        self.inventory = inventory
        self.payment_window = payment_window

    async def __call__(
        self, customer: Principal, data: OrderCreate, attempt: Attempt = NO_KEY
    ) -> uuid.UUID:
        """The new order's id; with an Idempotency-Key, the order a crashed attempt placed."""
        resumed = attempt.resumed(ORDER_PLACED)
        if resumed is not None:  # placed; what followed the commit may not have run
            await self.inventory.changed([uuid.UUID(pid) for pid in resumed["productIds"]])
            return uuid.UUID(resumed["orderId"])
        lines = merge_lines((line.product_id, line.quantity) for line in data.items)
        position = {line.product_id: index for index, line in reversed(list(enumerate(data.items)))}
        too_many = [pid for pid, quantity in lines if quantity > MAX_QUANTITY]
        if too_many:  # each line within the limit, together over it: a rule of the order (422)
            raise RuleViolation(
                "Too many of one product in one order.",
                code="too_many_of_one_product",
                errors=[
                    FieldError(
                        f"items[{position[pid]}].quantity",
                        "out_of_range",
                        f"At most {MAX_QUANTITY} of one product per order.",
                    )
                    for pid in too_many
                ],
            )
        now = self.clock.now()
        order_id = new_id()
        async with self.database.unit_of_work() as uow:
            catalog = await self.products.price_list(uow.session, {pid for pid, _ in lines})
            items = []
            for index, (product_id, quantity) in enumerate(lines):
                product = catalog.get(product_id)
                field = f"items[{position[product_id]}].productId"
                if product is None:
                    raise ProductUnavailable(f"Product {product_id} does not exist.", field=field)
                if product.status != ProductStatus.ACTIVE:
                    raise ProductUnavailable(
                        f"{product.name} ({product.sku}) is not for sale.", field=field
                    )
                items.append(
                    OrderItem(
                        id=new_id(),
                        order_id=order_id,
                        position=index,
                        product_id=product_id,
                        sku=product.sku,
                        name=product.name,
                        unit_price_cents=product.price_cents,
                        quantity=quantity,
                        line_total_cents=product.price_cents * quantity,
                    )
                )
            currencies = {catalog[pid].currency for pid, _ in lines}
            if len(currencies) > 1:
                raise MixedCurrencies(field="items")
            total = order_total((item.unit_price_cents, item.quantity) for item in items)
            # Take stock in one fixed order (by product id), so concurrent orders never deadlock.
            for product_id, quantity in sorted(lines, key=lambda line: line[0]):
                if await self.inventory.take(uow.session, product_id, quantity) is None:
                    product = catalog[product_id]
                    raise InsufficientStock(
                        f"Not enough {product.name} ({product.sku}) in stock for {quantity}.",
                        field=f"items[{position[product_id]}].quantity",
                    )
            order = Order(
                id=order_id,
                user_id=customer.id,
                status=OrderStatus.PENDING.value,
                currency=currencies.pop(),
                total_cents=total,
                shipping_address=data.shipping_address.model_dump(mode="json", by_alias=True),
                expires_at=now + self.payment_window,
                created_at=now,
                updated_at=now,
                items=items,
            )
            OrderRepository(uow.session).add(order)
            events.record(
                uow.session,
                OrderCreated(
                    id=order_id,
                    user_id=customer.id,
                    total_cents=total,
                    currency=order.currency,
                    items=[
                        OrderedLine(product_id=i.product_id, quantity=i.quantity) for i in items
                    ],
                ),
            )
            await attempt.reach(
                uow.session,
                ORDER_PLACED,
                orderId=str(order_id),
                productIds=[str(pid) for pid, _ in lines],
            )
            await uow.commit()
        await self.inventory.changed([pid for pid, _ in lines])
        return order_id


async def cancel_order(
    session: AsyncSession,
    inventory: InventoryService,
    order: Order,
    *,
    reason: str,
    refunds: Refunds | None,
    at: datetime,
) -> list[uuid.UUID]:
    """Cancel inside the caller's transaction: stock back (exactly once), refund if paid.

    The status change is a compare-and-set from the order's current status, so two cancellers
    (a customer and the expiry job, say) cannot both release the stock.
    """
    moved = await OrderRepository(session).move(
        order.id,
        from_status=order.status,
        values={
            "status": "cancelled",
            "cancelled_at": at,
            "cancel_reason": reason,
            "updated_at": at,
        },
    )
    if not moved:
        raise Conflict("The order changed meanwhile; reload it and try again.")
    items = (await OrderRepository(session).items_of([order.id]))[order.id]
    for item in items:
        await inventory.give_back(session, item.product_id, item.quantity)
    refund_ids: list[uuid.UUID] = []
    if order.status == OrderStatus.PAID and refunds is not None:
        refund_ids = await refunds.reserve_full_refund(session, order.id)
    events.record(
        session,
        OrderCancelled(
            id=order.id,
            reason=reason,
            items=[OrderedLine(product_id=i.product_id, quantity=i.quantity) for i in items],
            refunds=refund_ids,
        ),
    )
    return refund_ids


class ChangeOrderStatus:
    """Move an order along its status machine; customers may only cancel their own."""

    def __init__(
        self, database: Database, clock: Clock, *, inventory: InventoryService, refunds: Refunds
    ) -> None:
        self.database = database
        self.clock = clock
        self.inventory = inventory
        self.refunds = refunds

    async def __call__(
        self,
        actor: Principal,
        order_id: uuid.UUID,
        status: OrderStatus,
        *,
        expected_version: int | None = None,
    ) -> uuid.UUID:
        admin = manages_orders(actor)
        now = self.clock.now()
        refund_ids: list[uuid.UUID] = []
        product_ids: list[uuid.UUID] = []
        async with self.database.unit_of_work() as uow:
            orders = OrderRepository(uow.session)
            order = await orders.lock(order_id)
            if order is None or (not admin and order.user_id != actor.id):
                raise OrderNotFound()
            if expected_version is not None and order.version != expected_version:
                raise PreconditionFailed(field="If-Match")
            if not admin and status not in CUSTOMER_TRANSITIONS:
                raise StatusChangeForbidden(
                    f"Only an admin can mark an order {status}.", field="status"
                )
            check_transition(order.status, status)
            if status == OrderStatus.CANCELLED:
                reason = (
                    "cancelled_by_customer"
                    if order.user_id == actor.id
                    else "cancelled_by_admin"
                    if actor.is_user
                    else "cancelled_by_api_key"
                )
                refund_ids = await cancel_order(
                    uow.session, self.inventory, order, reason=reason, refunds=self.refunds, at=now
                )
                product_ids = [i.product_id for i in (await orders.items_of([order_id]))[order_id]]
            else:
                values = {"status": status.value, "updated_at": now}
                if status == OrderStatus.PAID:
                    values["paid_at"] = now
                if not await orders.move(order_id, from_status=order.status, values=values):
                    raise Conflict("The order changed meanwhile; reload it and try again.")
                events.record(
                    uow.session,
                    OrderPaid(id=order_id, payment_id=None, by=actor.id)
                    if status == OrderStatus.PAID
                    else SHIPPING[status.value](id=order_id, by=actor.id),
                )
            await uow.commit()
        if refund_ids:
            await self.refunds.execute(refund_ids)
        await self.inventory.changed(product_ids)
        return order_id


class ExpireUnpaidOrders:
    """Cancel pending orders past their payment window and release their stock (a job)."""

    def __init__(
        self, database: Database, clock: Clock, *, inventory: InventoryService, batch: int = 100
    ) -> None:
        self.database = database
        self.clock = clock
        self.inventory = inventory
        self.batch = batch

    async def __call__(self) -> int:
        now = self.clock.now()
        async with self.database.session() as session:
            overdue = await OrderRepository(session).overdue(now, self.batch)
        expired = 0
        for order_id in overdue:
            async with self.database.unit_of_work() as uow:
                order = await OrderRepository(uow.session).lock(order_id)
                if order is None or order.status != OrderStatus.PENDING:
                    continue  # paid or cancelled meanwhile
                try:
                    await cancel_order(
                        uow.session, self.inventory, order, reason="expired", refunds=None, at=now
                    )
                except Conflict:
                    continue  # another instance got there first
                items = (await OrderRepository(uow.session).items_of([order_id]))[order_id]
                await uow.commit()
            expired += 1
            await self.inventory.changed([item.product_id for item in items])
        return expired
