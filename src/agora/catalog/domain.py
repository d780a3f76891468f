"""Catalog rules that need no I/O: product status transitions, money, image types."""

from decimal import Decimal, InvalidOperation
from enum import StrEnum

from agora.catalog.errors import IllegalTransition

MAX_PRICE_CENTS = 10**10  # 100 million in major units: far above any real price, far below overflow
MAX_STOCK = 10**9


class Status(StrEnum):
    DRAFT = "draft"
    ACTIVE = "active"
    ARCHIVED = "archived"


_NEXT = {
    Status.DRAFT: {Status.DRAFT, Status.ACTIVE},
    Status.ACTIVE: {Status.ACTIVE, Status.ARCHIVED},
    Status.ARCHIVED: {Status.ARCHIVED},
}


def check_transition(current: Status | str, new: Status | str) -> None:
    """draft -> active -> archived, one way; anything else is a 422."""
    current, new = Status(current), Status(new)
    if new not in _NEXT[current]:
        raise IllegalTransition(
            f"A product cannot go from {current} to {new}; the order is draft, active, archived.",
            field="status",
        )


def check_initial_status(status: Status | str) -> None:
    if Status(status) == Status.ARCHIVED:
        raise IllegalTransition("A new product starts as draft or active.", field="status")


# ISO 4217 currencies Agora prices in, with their number of minor-unit digits.
CURRENCIES: dict[str, int] = {
    "AUD": 2, "CAD": 2, "CHF": 2, "CNY": 2, "DKK": 2, "EUR": 2, "GBP": 2, "INR": 2,
    "JPY": 0, "KRW": 0, "NOK": 2, "NZD": 2, "PLN": 2, "SEK": 2, "USD": 2,
}  # fmt: skip


def format_amount(minor_units: int, currency: str) -> str:
    """`1999, "USD"` -> `"19.99"`; `500, "JPY"` -> `"500"`. Exact: no floats involved."""
    digits = CURRENCIES[currency]
    return f"{Decimal(minor_units).scaleb(-digits):.{digits}f}"


def parse_amount(amount: str, currency: str) -> int:
    """`"19.99", "USD"` -> `1999`; ValueError for more decimals than the currency has."""
    digits = CURRENCIES[currency]
    try:
        value = Decimal(amount)
    except InvalidOperation:
        raise ValueError(f"{amount!r} is not a decimal amount") from None
    if not value.is_finite():
        raise ValueError("the amount must be a finite number")
    minor = value.scaleb(digits)
    if minor != minor.to_integral_value():
        raise ValueError(f"{currency} amounts have at most {digits} decimals")
    return int(minor)


_SIGNATURES = (
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
)


def image_type(head: bytes) -> str | None:
    """The image type from a file's first bytes (never from its name), or None."""
    for signature, kind in _SIGNATURES:
        if head.startswith(signature):
            return kind
    if len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    return None


IMAGE_EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp"}
