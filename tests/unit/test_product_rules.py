"""Catalog's pure rules: product status transitions, exact money, image types by their bytes."""

import pytest

from agora.catalog.domain import (
    Status,
    check_initial_status,
    check_transition,
    format_amount,
    image_type,
    parse_amount,
)
from agora.catalog.errors import IllegalTransition

LEGAL = {
    ("draft", "draft"),
    ("draft", "active"),
    ("active", "active"),
    ("active", "archived"),
    ("archived", "archived"),
}


@pytest.mark.parametrize("current", list(Status))
@pytest.mark.parametrize("new", list(Status))
def test_products_go_draft_active_archived_one_way(current: str, new: str) -> None:
    if (current, new) in LEGAL:
        check_transition(current, new)
    else:
        with pytest.raises(IllegalTransition) as refused:
            check_transition(current, new)
        assert refused.value.status_code == 422


def test_a_new_product_is_never_archived() -> None:
    check_initial_status("draft")
    check_initial_status("active")
    with pytest.raises(IllegalTransition):
        check_initial_status("archived")


@pytest.mark.parametrize(
    ("minor", "currency", "text"),
    [(1999, "USD", "19.99"), (5, "EUR", "0.05"), (0, "USD", "0.00"), (500, "JPY", "500")],
)
def test_amounts_format_and_parse_exactly(minor: int, currency: str, text: str) -> None:
    assert format_amount(minor, currency) == text
    assert parse_amount(text, currency) == minor


@pytest.mark.parametrize(
    ("amount", "currency"), [("19.999", "USD"), ("1.5", "JPY"), ("abc", "USD"), ("NaN", "USD")]
)
def test_amounts_a_currency_cannot_hold_are_refused(amount: str, currency: str) -> None:
    with pytest.raises(ValueError):
        parse_amount(amount, currency)


def test_images_are_typed_by_their_first_bytes() -> None:
    assert image_type(b"\xff\xd8\xff\xe0rest") == "image/jpeg"
    assert image_type(b"\x89PNG\r\n\x1a\nrest") == "image/png"
    assert image_type(b"RIFF\x00\x00\x00\x00WEBPVP8 ") == "image/webp"
    assert image_type(b"GIF89a") is None
    assert image_type(b"<svg xmlns=") is None
    assert image_type(b"") is None
