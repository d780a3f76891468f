"""Ordering: orders placed at catalog prices, with stock taken in the same transaction.

Payments reaches orders through `agora.ordering.ports.OrderPayments` (read an order to pay it,
mark it paid inside the payment's transaction); ordering reaches payments only through the
`Refunds` protocol it declares, which the payments module implements.
"""
