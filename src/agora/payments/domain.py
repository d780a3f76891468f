"""Payment rules that need no I/O: what may be refunded."""

from agora.payments.errors import NotRefundable, RefundTooLarge


def refundable(status: str, amount_cents: int, refunded_cents: int) -> int:
    """What is left to refund of a payment; only a successful payment can be refunded."""
    if status != "succeeded":
        raise NotRefundable("Only a successful payment can be refunded.", field="paymentId")
    return amount_cents - refunded_cents


def check_refund(requested_cents: int, remaining_cents: int, currency: str) -> None:
    """All refunds of a payment together never exceed what was paid (422 otherwise)."""
    if requested_cents > remaining_cents:
        raise RefundTooLarge(
            f"At most {remaining_cents} {currency} minor units remain refundable.",
            field="amountCents",
        )
