"""What ordering publishes."""

ORDER_CREATED = "order.created"
ORDER_PAID = "order.paid"
ORDER_SHIPPED = "order.shipped"
ORDER_DELIVERED = "order.delivered"
ORDER_CANCELLED = "order.cancelled"

BY_STATUS = {
    "paid": ORDER_PAID,
    "shipped": ORDER_SHIPPED,
    "delivered": ORDER_DELIVERED,
    "cancelled": ORDER_CANCELLED,
}
