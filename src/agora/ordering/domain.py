"""Order rules that need no I/O: the status machine, line merging and money arithmetic."""

import uuid
from collections.abc import Iterable
from enum import StrEnum

from agora.ordering.errors import IllegalOrderTransition, OrderTooLarge

MAX_QUANTITY = 1_000
# One order may not exceed 1,000,000,000 in major units; far below 64-bit overflow.
MAX_TOTAL_CENTS = 100_000_000_000


class OrderStatus(StrEnum):
    PENDING = "pending"
    PAID = "paid"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"


_NEXT: dict[OrderStatus, frozenset[OrderStatus]] = {
    OrderStatus.PENDING: frozenset({OrderStatus.PAID, OrderStatus.CANCELLED}),
    OrderStatus.PAID: frozenset({OrderStatus.SHIPPED, OrderStatus.CANCELLED}),
    OrderStatus.SHIPPED: frozenset({OrderStatus.DELIVERED}),
    OrderStatus.DELIVERED: frozenset(),
    OrderStatus.CANCELLED: frozenset(),
}

# What an order's owner may do themselves; everything else is for admins.
CUSTOMER_TRANSITIONS = frozenset({OrderStatus.CANCELLED})


def check_transition(current: str, new: str) -> None:
    current_status, new_status = OrderStatus(current), OrderStatus(new)
    if new_status not in _NEXT[current_status]:
        allowed = ", ".join(sorted(_NEXT[current_status])) or "nothing"
        raise IllegalOrderTransition(
            f"An order cannot go from {current_status} to {new_status}; "
            f"from {current_status} it can go to: {allowed}.",
            field="status",
        )


def merge_lines(lines: Iterable[tuple[uuid.UUID, int]]) -> list[tuple[uuid.UUID, int]]:
    """Lines for the same product become one line (first position kept, quantities added)."""
    merged: dict[uuid.UUID, int] = {}
    for product_id, quantity in lines:
        merged[product_id] = merged.get(product_id, 0) + quantity
    return list(merged.items())


def order_total(lines: Iterable[tuple[int, int]]) -> int:
    """Sum of unit price x quantity, in minor units; 422 above the maximum order total."""
    total = 0
    for unit_price, quantity in lines:
        total += unit_price * quantity
        if total > MAX_TOTAL_CENTS:
            raise OrderTooLarge(
                "The order total is above the maximum of one order; split it.", field="items"
            )
    return total
