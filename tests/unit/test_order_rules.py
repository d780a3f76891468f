"""Ordering's pure rules: the status machine, line merging, quantity and total limits."""

import uuid

import pytest

from agora.ordering.domain import (
    CUSTOMER_TRANSITIONS,
    MAX_TOTAL_CENTS,
    OrderStatus,
    check_transition,
    merge_lines,
    order_total,
)
from agora.ordering.errors import IllegalOrderTransition, OrderTooLarge
from agora.ordering.schemas import OrderLineIn

LEGAL = {
    ("pending", "paid"),
    ("pending", "cancelled"),
    ("paid", "shipped"),
    ("paid", "cancelled"),
    ("shipped", "delivered"),
}


@pytest.mark.parametrize("current", list(OrderStatus))
@pytest.mark.parametrize("new", list(OrderStatus))
def test_the_status_machine_allows_exactly_its_arrows(current: str, new: str) -> None:
    if (current, new) in LEGAL:
        check_transition(current, new)
    else:
        with pytest.raises(IllegalOrderTransition) as refused:
            check_transition(current, new)
        assert refused.value.status_code == 422
        assert refused.value.errors[0].field == "status"


def test_delivered_and_cancelled_are_final_and_say_so() -> None:
    for final in ("delivered", "cancelled"):
        with pytest.raises(IllegalOrderTransition, match="can go to: nothing"):
            check_transition(final, "pending")


def test_customers_may_only_cancel() -> None:
    assert frozenset({OrderStatus.CANCELLED}) == CUSTOMER_TRANSITIONS


def test_lines_of_one_product_merge_in_first_position() -> None:
    a, b, c = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    merged = merge_lines([(a, 1), (b, 2), (a, 3), (c, 1), (b, 5)])
    assert merged == [(a, 4), (b, 7), (c, 1)]
    assert merge_lines([]) == []


def test_the_total_is_exact_in_minor_units() -> None:
    assert order_total([(1999, 3), (1, 1)]) == 5998
    assert order_total([]) == 0


def test_a_total_above_the_maximum_is_refused() -> None:
    assert order_total([(MAX_TOTAL_CENTS, 1)]) == MAX_TOTAL_CENTS
    with pytest.raises(OrderTooLarge) as refused:
        order_total([(MAX_TOTAL_CENTS, 1), (1, 1)])
    assert refused.value.status_code == 422
    with pytest.raises(OrderTooLarge):
        order_total([(10**10, 1000)])  # the largest price times the largest quantity


@pytest.mark.parametrize("quantity", [0, -1, 1001])
def test_a_line_quantity_is_between_1_and_1000(quantity: int) -> None:
    with pytest.raises(ValueError, match="quantity"):
        OrderLineIn.model_validate({"productId": str(uuid.uuid4()), "quantity": quantity})


def test_a_line_at_the_limits_is_accepted() -> None:
    for quantity in (1, 1000):
        line = OrderLineIn.model_validate({"productId": str(uuid.uuid4()), "quantity": quantity})
        assert line.quantity == quantity
