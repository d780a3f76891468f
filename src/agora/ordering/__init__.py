"""Ordering: orders placed at catalog prices, with stock taken in the same transaction.

Its public face: payments reaches orders through `OrderPayments` (read an order to pay it, mark
it paid inside the payment's transaction, as a `PayableOrder` with its `OrderStatus`); ordering
reaches payments only through the `Refunds` protocol it declares, which payments implements.
"""

from agora.ordering.billing import OrderPayments, PayableOrder, Refunds
from agora.ordering.domain import OrderStatus

__all__ = ["OrderPayments", "OrderStatus", "PayableOrder", "Refunds"]
