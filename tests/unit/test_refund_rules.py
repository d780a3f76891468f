"""Payments' pure rules: only a successful payment is refunded, and never beyond what was paid."""

import pytest

from agora.payments.domain import check_refund, refundable
from agora.payments.errors import NotRefundable, RefundTooLarge


def test_what_is_left_to_refund() -> None:
    assert refundable("succeeded", 5000, 0) == 5000
    assert refundable("succeeded", 5000, 1200) == 3800
    assert refundable("succeeded", 5000, 5000) == 0


@pytest.mark.parametrize("status", ["pending", "failed", "unknown"])
def test_only_a_successful_payment_is_refundable(status: str) -> None:
    with pytest.raises(NotRefundable) as refused:
        refundable(status, 5000, 0)
    assert refused.value.status_code == 422
    assert refused.value.errors[0].field == "paymentId"


def test_refunds_together_never_exceed_the_payment() -> None:
    remaining = refundable("succeeded", 5000, 0)
    taken = 0
    for part in (2000, 2000, 1000):  # exactly the payment, in parts
        check_refund(part, remaining - taken, "USD")
        taken += part
    with pytest.raises(RefundTooLarge, match="At most 0 USD") as refused:
        check_refund(1, remaining - taken, "USD")
    assert refused.value.errors[0].field == "amountCents"


def test_one_cent_too_many_is_refused() -> None:
    check_refund(3800, 3800, "EUR")
    with pytest.raises(RefundTooLarge, match="At most 3800 EUR"):
        check_refund(3801, 3800, "EUR")
