"""Errors of the ordering module (see `agora.platform.errors` for the tree)."""

from agora.platform.errors import Forbidden, NotFound, RuleViolation


class OrderNotFound(NotFound):
    code = "order_not_found"
    default_message = "No such order."


class InsufficientStock(RuleViolation):
    code = "insufficient_stock"


class ProductUnavailable(RuleViolation):
    code = "product_unavailable"


class IllegalOrderTransition(RuleViolation):
    code = "illegal_status_transition"


class OrderTooLarge(RuleViolation):
    code = "order_total_too_large"


class MixedCurrencies(RuleViolation):
    code = "mixed_currencies"
    default_message = "All products of an order must be priced in one currency."


class StatusChangeForbidden(Forbidden):
    code = "status_change_forbidden"
