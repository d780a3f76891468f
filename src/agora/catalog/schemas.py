"""Catalog DTOs, v1 (`priceCents` + `currency`) and v2 (`price: {amount, currency}`)."""

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from agora.catalog.domain import (
    MAX_PRICE_CENTS,
    MAX_STOCK,
    Status,
    format_amount,
    parse_amount,
)
from agora.platform.errors import RuleViolation
from agora.platform.schemas import VISIBLE, ApiInput, ApiModel, Integer

Currency = Literal[
    "AUD", "CAD", "CHF", "CNY", "DKK", "EUR", "GBP", "INR", "JPY", "KRW", "NOK", "NZD", "PLN",
    "SEK", "USD",
]  # fmt: skip
Sku = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
Tag = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True,
        to_lower=True,
        min_length=1,
        max_length=50,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9 _-]*$",
    ),
]


class ProductRecord(BaseModel):
    """The catalog's internal read model of a product (what the cache stores)."""

    model_config = ConfigDict(frozen=True)

    id: uuid.UUID
    sku: str
    name: str
    description: str
    price_cents: int
    currency: str
    status: Status
    category_id: uuid.UUID | None
    tags: list[str]
    stock: int
    version: int
    created_at: datetime
    updated_at: datetime


class _ProductFields(ApiInput):
    sku: Sku
    name: str = Field(min_length=1, max_length=200, pattern=VISIBLE)
    description: str = Field(default="", max_length=5000)
    status: Status = Status.DRAFT
    category_id: uuid.UUID | None = None
    tags: list[Tag] = Field(default_factory=list, max_length=20)

    @field_validator("tags")
    @classmethod
    def _unique_tags(cls, tags: list[str]) -> list[str]:
        return list(dict.fromkeys(tags))


class ProductWrite(_ProductFields):
    """v1 body of `POST` (and of `PUT`, where `status` is required: see `ProductReplace`)."""

    price_cents: Integer = Field(ge=0, le=MAX_PRICE_CENTS)
    currency: Currency = "USD"


class ProductReplace(ProductWrite):
    """v1 body of `PUT`: omitted optional fields reset to their defaults, except `status`,
    which must be given (resetting it to draft would be an illegal transition)."""

    status: Status


class PriceIn(ApiInput):
    amount: str = Field(
        pattern=r"^[0-9]{1,8}(\.[0-9]{1,2})?$",
        examples=["19.99"],
        description="Decimal string in major units: up to 8 digits, and as many decimals as "
        "the currency has minor units (2, or none for JPY and KRW).",
    )
    currency: Currency


class ProductWriteV2(_ProductFields):
    """v2 body of `POST`."""

    price: PriceIn

    def to_v1(self) -> ProductWrite:
        """The v1 write; 422 when the amount has more decimals than the currency allows."""
        try:
            cents = parse_amount(self.price.amount, self.price.currency)
        except ValueError as error:
            raise RuleViolation(
                f"The amount does not fit the currency: {error}.",
                code="invalid_amount",
                field="price.amount",
            ) from None
        data = self.model_dump(exclude={"price"})
        return ProductWrite(**data, price_cents=cents, currency=self.price.currency)


class ProductReplaceV2(ProductWriteV2):
    """v2 body of `PUT`; `status` is required as in v1."""

    status: Status


class ProductRead(ApiModel):
    id: uuid.UUID
    sku: str
    name: str
    description: str
    price_cents: int
    currency: str
    status: Status
    category_id: uuid.UUID | None
    tags: list[str]
    stock: int
    created_at: datetime
    updated_at: datetime


class Price(ApiModel):
    amount: str = Field(examples=["19.99"], description="Decimal string in major units.")
    currency: str


_NOT_IN_V2 = frozenset({"price_cents", "currency", "version"})


class ProductReadV2(ApiModel):
    id: uuid.UUID
    sku: str
    name: str
    description: str
    price: Price
    status: Status
    category_id: uuid.UUID | None
    tags: list[str]
    stock: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_record(cls, record: ProductRecord) -> "ProductReadV2":
        data = {k: v for k, v in vars(record).items() if k not in _NOT_IN_V2}
        data["price"] = Price(
            amount=format_amount(record.price_cents, record.currency), currency=record.currency
        )
        return cls.model_validate(data)


def editable_v1(record: ProductRecord) -> dict[str, Any]:
    """The writable part of a product as a v1 client sees it (what a PATCH applies to)."""
    fields = record.model_dump(include=set(ProductWrite.model_fields))
    return ProductWrite.model_validate(fields).model_dump(mode="json", by_alias=True)


def editable_v2(record: ProductRecord) -> dict[str, Any]:
    data = editable_v1(record)
    data.pop("priceCents")
    data["price"] = {
        "amount": format_amount(record.price_cents, record.currency),
        "currency": data.pop("currency"),
    }
    return data


class CategoryCreate(ApiInput):
    name: str = Field(min_length=1, max_length=100, pattern=VISIBLE)
    slug: str | None = Field(default=None, pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$", max_length=100)
    description: str = Field(default="", max_length=1000)


class CategoryRead(ApiModel):
    id: uuid.UUID
    name: str
    slug: str
    description: str
    created_at: datetime
    updated_at: datetime


class InventoryRead(ApiModel):
    product_id: uuid.UUID
    quantity: int
    updated_at: datetime


class InventoryUpdate(ApiInput):
    quantity: Integer = Field(ge=0, le=MAX_STOCK)


class ImageRead(ApiModel):
    id: uuid.UUID
    product_id: uuid.UUID
    url: str
    content_type: str
    size: int
    created_at: datetime


class ImageAttach(ApiInput):
    """Attach a file uploaded through a signed URL (`POST /uploads`)."""

    upload_key: str = Field(min_length=1, max_length=64, pattern=r"^[0-9a-f]{32}$")


class UploadCreate(ApiInput):
    content_type: Literal["image/jpeg", "image/png", "image/webp"]


class UploadTicket(ApiModel):
    key: str
    url: str
    method: Literal["PUT"]
    headers: dict[str, str]
    expires_at: datetime
    max_bytes: int
