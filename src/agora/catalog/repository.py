"""Catalog queries. Reads select plain rows (no ORM identity map on the hot path); writes use
the ORM entities so that version checks (`If-Match`) happen in the UPDATE itself."""

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, bindparam, delete, func, insert, select, update
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession

from agora.catalog.models import Category, Inventory, Product, ProductImage, ProductTag
from agora.catalog.schemas import ProductRecord

PRODUCT_COLUMNS = (
    Product.id,
    Product.sku,
    Product.name,
    Product.description,
    Product.price_cents,
    Product.currency,
    Product.status,
    Product.category_id,
    Product.tags,
    func.coalesce(Inventory.quantity, 0).label("stock"),
    Product.version,
    Product.created_at,
    Product.updated_at,
)


_PRODUCT_ROWS: Select[Any] = (
    select(*PRODUCT_COLUMNS)  # type: ignore[assignment]
    .select_from(Product)
    .outerjoin(Inventory, Inventory.product_id == Product.id)
    .where(Product.deleted_at.is_(None))
)
# Built once: constructing a statement costs more than running a cached one.
PRODUCT_BY_ID = _PRODUCT_ROWS.where(Product.id == bindparam("product_id"))
PRODUCTS_BY_IDS = _PRODUCT_ROWS.where(Product.id.in_(bindparam("product_ids", expanding=True)))


def product_rows() -> Select[Any]:
    """Live products with their stock, as rows that map onto `ProductRecord`."""
    return _PRODUCT_ROWS


def to_record(row: Row[Any]) -> ProductRecord:
    return ProductRecord.model_validate(row._asdict())


class ProductRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def record(self, product_id: uuid.UUID) -> ProductRecord | None:
        row = (await self.session.execute(PRODUCT_BY_ID, {"product_id": product_id})).first()
        return to_record(row) if row is not None else None

    async def lock(self, product_id: uuid.UUID) -> Product | None:
        query = select(Product).where(Product.id == product_id, Product.deleted_at.is_(None))
        product: Product | None = await self.session.scalar(query.with_for_update())
        return product

    async def sku_taken(self, sku: str, *, other_than: uuid.UUID | None = None) -> bool:
        query = select(Product.id).where(Product.sku == sku, Product.deleted_at.is_(None))
        if other_than is not None:
            query = query.where(Product.id != other_than)
        return await self.session.scalar(query.limit(1)) is not None

    async def add(self, product: Product) -> None:
        """A new product, with an empty stock record."""
        self.session.add(product)
        await self.session.flush()
        self.session.add(Inventory(product_id=product.id, quantity=0))
        await self.session.flush()

    async def set_tags(self, product_id: uuid.UUID, tags: Sequence[str]) -> None:
        await self.session.execute(delete(ProductTag).where(ProductTag.product_id == product_id))
        if tags:
            await self.session.execute(
                insert(ProductTag), [{"product_id": product_id, "tag": tag} for tag in tags]
            )


class CategoryRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def exists(self, category_id: uuid.UUID) -> bool:
        return (
            await self.session.scalar(select(Category.id).where(Category.id == category_id))
            is not None
        )

    async def taken(self, name: str, slug: str) -> bool:
        query = select(Category.id).where(
            (func.lower(Category.name) == name.lower()) | (Category.slug == slug)
        )
        return await self.session.scalar(query.limit(1)) is not None

    def add(self, category: Category) -> None:
        self.session.add(category)

    @staticmethod
    def listing() -> Select[Category]:
        return select(Category)


class InventoryRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, product_id: uuid.UUID) -> Inventory | None:
        query = (
            select(Inventory)
            .join(Product, Product.id == Inventory.product_id)
            .where(Inventory.product_id == product_id, Product.deleted_at.is_(None))
        )
        row: Inventory | None = await self.session.scalar(query)
        return row

    async def lock(self, product_id: uuid.UUID) -> Inventory | None:
        query = select(Inventory).where(Inventory.product_id == product_id).with_for_update()
        row: Inventory | None = await self.session.scalar(query)
        return row

    async def take(self, product_id: uuid.UUID, quantity: int) -> int | None:
        """Decrement stock if enough is left, atomically; the new quantity, or None if not."""
        result = await self.session.execute(
            update(Inventory)
            .where(Inventory.product_id == product_id, Inventory.quantity >= quantity)
            .values(quantity=Inventory.quantity - quantity)
            .returning(Inventory.quantity)
        )
        remaining: int | None = result.scalar_one_or_none()
        return remaining

    async def give_back(self, product_id: uuid.UUID, quantity: int) -> int | None:
        result = await self.session.execute(
            update(Inventory)
            .where(Inventory.product_id == product_id)
            .values(quantity=Inventory.quantity + quantity)
            .returning(Inventory.quantity)
        )
        remaining: int | None = result.scalar_one_or_none()
        return remaining


class ImageRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, image: ProductImage) -> None:
        self.session.add(image)

    async def get(self, image_id: uuid.UUID) -> ProductImage | None:
        return await self.session.get(ProductImage, image_id)

    async def of_product(self, product_id: uuid.UUID) -> list[ProductImage]:
        rows = await self.session.scalars(
            select(ProductImage)
            .where(ProductImage.product_id == product_id)
            .order_by(ProductImage.created_at, ProductImage.id)
        )
        return list(rows)

    async def key_used(self, storage_key: str) -> bool:
        query = select(ProductImage.id).where(ProductImage.storage_key == storage_key)
        return await self.session.scalar(query) is not None
