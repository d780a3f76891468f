from agora.platform.errors import Conflict, NotFound, RuleViolation


class PaymentNotFound(NotFound):
    code = "payment_not_found"
    default_message = "No such payment."


class PaymentDeclined(RuleViolation):
    code = "payment_declined"


class OrderNotPayable(RuleViolation):
    code = "order_not_payable"


class OrderAlreadyPaid(RuleViolation):
    code = "order_already_paid"
    default_message = "This order is paid already."


class PaymentInProgress(Conflict):
    code = "payment_in_progress"
    default_message = "A payment of this order is being processed; retry shortly."


class RefundTooLarge(RuleViolation):
    code = "refund_exceeds_payment"


class NotRefundable(RuleViolation):
    code = "payment_not_refundable"
