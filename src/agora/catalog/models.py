"""Catalog tables: categories, products (with their tags), inventory and product images."""

import uuid
from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    func,
    literal_column,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from agora.platform.db import Base, IdMixin, TimestampMixin, utcnow

_LIVE = text("deleted_at IS NULL")


def _live_index(name: str, *columns: str, unique: bool = False) -> Index:
    """An index over products that are not deleted (the only ones any query reads)."""
    return Index(name, *columns, unique=unique, sqlite_where=_LIVE, postgresql_where=_LIVE)


class Category(IdMixin, TimestampMixin, Base):
    __tablename__ = "categories"

    name: Mapped[str] = mapped_column(String(100), unique=True)
    slug: Mapped[str] = mapped_column(String(100), unique=True)
    description: Mapped[str] = mapped_column(String(1000), default="")

    __table_args__ = (
        Index("ix_categories_created_at_id", "created_at", "id"),
        Index("ix_categories_name_id", "name", "id"),
    )


class Product(IdMixin, TimestampMixin, Base):
    __tablename__ = "products"

    sku: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(String(5000), default="")
    price_cents: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(16), default="draft")
    category_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("categories.id", ondelete="SET NULL"), default=None
    )
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    """For reading; `product_tags` holds the same tags for filtering by index."""
    version: Mapped[int] = mapped_column(default=1)
    deleted_at: Mapped[datetime | None] = mapped_column(default=None)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 - SQLAlchemy's own idiom
    __table_args__ = (
        CheckConstraint("price_cents >= 0", name="price_not_negative"),
        CheckConstraint("status IN ('draft', 'active', 'archived')", name="status_known"),
        _live_index("uq_products_sku_live", "sku", unique=True),
        _live_index("ix_products_created_at_id", "created_at", "id"),
        _live_index("ix_products_status_created_at_id", "status", "created_at", "id"),
        _live_index("ix_products_status_name_id", "status", "name", "id"),
        _live_index("ix_products_status_price_id", "status", "price_cents", "id"),
        _live_index(
            "ix_products_category_status_created_at_id", "category_id", "status", "created_at", "id"
        ),
        # Full-text search on PostgreSQL; SQLite filters `q` with LIKE (see catalog.search).
        Index(
            "ix_products_search",
            func.to_tsvector(
                literal_column("'simple'"), literal_column("name || ' ' || description")
            ),
            postgresql_using="gin",
        ).ddl_if(dialect="postgresql"),
    )


class ProductTag(Base):
    __tablename__ = "product_tags"

    product_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("products.id", ondelete="CASCADE"), primary_key=True
    )
    tag: Mapped[str] = mapped_column(String(50), primary_key=True)

    __table_args__ = (Index("ix_product_tags_tag_product_id", "tag", "product_id"),)


class Inventory(Base):
    __tablename__ = "inventory"

    product_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("products.id", ondelete="CASCADE"), primary_key=True
    )
    quantity: Mapped[int] = mapped_column(default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    __table_args__ = (CheckConstraint("quantity >= 0", name="quantity_not_negative"),)


class ProductImage(IdMixin, Base):
    __tablename__ = "product_images"

    product_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    storage_key: Mapped[str] = mapped_column(String(64), unique=True)
    content_type: Mapped[str] = mapped_column(String(32))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (Index("ix_product_images_product_id_created_at", "product_id", "created_at"),)
