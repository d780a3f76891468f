"""What the catalog collections may be filtered and sorted by (each backed by an index)."""

import uuid
from dataclasses import replace
from datetime import datetime
from typing import Annotated

from pydantic import StringConstraints
from sqlalchemy import ColumnElement, exists, literal_column, select

from agora.catalog.domain import Status
from agora.catalog.models import Category, Product, ProductTag
from agora.catalog.schemas import CategoryRead, ProductRead, ProductReadV2
from agora.catalog.search import text_search
from agora.platform.pagination import SortField
from agora.platform.querying import CollectionSpec, Filter
from agora.platform.schemas import api_fields

_DOCUMENT = Product.name.concat(literal_column("' '")).concat(Product.description)


SearchText = Annotated[str, StringConstraints(min_length=1, max_length=200)]
TagText = Annotated[str, StringConstraints(min_length=1, max_length=50)]


def _has_tag(tag: str) -> ColumnElement[bool]:
    return exists(
        select(ProductTag.product_id).where(
            ProductTag.product_id == Product.id, ProductTag.tag == tag.lower()
        )
    )


PRODUCTS = CollectionSpec(
    name="products",
    filters=(
        Filter(
            "status",
            Status,
            lambda value: Product.status == value.value,
            "draft, active or archived.",
        ),
        Filter(
            "categoryId",
            uuid.UUID,
            lambda value: Product.category_id == value,
            "Products of a category.",
        ),
        Filter(
            "minPriceCents",
            int,
            lambda value: Product.price_cents >= value,
            "Lowest price, minor units.",
        ),
        Filter(
            "maxPriceCents",
            int,
            lambda value: Product.price_cents <= value,
            "Highest price, minor units.",
        ),
        Filter("tag", TagText, _has_tag, "Products carrying this tag."),
        Filter(
            "q",
            SearchText,
            lambda value: text_search(_DOCUMENT, value),
            "Words in the name or description.",
        ),
    ),
    sorts=(
        SortField("createdAt", Product.created_at, datetime),
        SortField("name", Product.name, str),
        SortField("priceCents", Product.price_cents, int),
    ),
    default_sort="-createdAt",
    tiebreaker=SortField("id", Product.id, uuid.UUID),
    fields=api_fields(ProductRead),
)
PRODUCTS_V2 = replace(PRODUCTS, fields=api_fields(ProductReadV2))

CATEGORIES = CollectionSpec(
    name="categories",
    filters=(),
    sorts=(
        SortField("name", Category.name, str),
        SortField("createdAt", Category.created_at, datetime),
    ),
    default_sort="name",
    tiebreaker=SortField("id", Category.id, uuid.UUID),
    fields=api_fields(CategoryRead),
    max_limit=100,
)
