"""Ordering use cases: commands change orders (one transaction each), queries read them."""

from agora.ordering.service.commands import ChangeOrderStatus, ExpireUnpaidOrders, PlaceOrder
from agora.ordering.service.queries import ORDERS, OrderReads

__all__ = ["ORDERS", "ChangeOrderStatus", "ExpireUnpaidOrders", "OrderReads", "PlaceOrder"]
