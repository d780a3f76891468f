import uuid
from typing import Any, Literal

from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from agora.catalog.cache import CatalogChanges, ProductCache
from agora.catalog.domain import Status, check_initial_status, check_transition
from agora.catalog.errors import DuplicateSku, ProductNotFound, UnknownCategory
from agora.catalog.events import ProductCreated, ProductDeleted, ProductUpdated
from agora.catalog.models import Product
from agora.catalog.permissions import sees_unpublished
from agora.catalog.repository import (
    PRODUCT_BY_ID,
    PRODUCTS_BY_IDS,
    CategoryRepository,
    ProductRepository,
    product_rows,
    to_record,
)
from agora.catalog.schemas import (
    ProductRecord,
    ProductReplace,
    ProductReplaceV2,
    ProductWrite,
    editable_v1,
    editable_v2,
)
from agora.platform import events
from agora.platform.db import Database, utcnow
from agora.platform.errors import (
    Conflict,
    Forbidden,
    PreconditionFailed,
    ValidationFailed,
    translate_validation_errors,
)
from agora.platform.idempotency import NO_KEY, Attempt
from agora.platform.ids import new_id
from agora.platform.pagination import PageResult
from agora.platform.patching import PatchFailed, json_patch, merge_patch
from agora.platform.querying import CollectionQuery
from agora.platform.security import Principal

PatchKind = Literal["merge", "json"]

PRODUCT_ADDED = "product_added"
"""Recovery point of an idempotent create: the product is committed."""


class ProductService:
    def __init__(self, database: Database, cache: ProductCache, changes: CatalogChanges) -> None:
        self.database = database
        self.cache = cache
        self.changes = changes

    # --- queries -------------------------------------------------------------------------

    async def get(self, product_id: uuid.UUID, *, viewer: Principal | None) -> ProductRecord:
        """A product as `viewer` may see it (the public sees active products only)."""
        record = await self.cache.get(product_id)
        if record is None:
            rows = await self.database.fetch_all(
                PRODUCT_BY_ID, {"product_id": product_id}, by_key=True
            )
            if not rows:
                raise ProductNotFound()
            record = to_record(rows[0])
            await self.cache.put(record)
        if record.status != Status.ACTIVE and not sees_unpublished(viewer):
            raise ProductNotFound()
        return record

    async def list(
        self, query: CollectionQuery, *, viewer: Principal | None
    ) -> PageResult[ProductRecord]:
        base = query.where(product_rows())
        if not sees_unpublished(viewer):
            status = query.filters.get("status")
            if status is not None and status != Status.ACTIVE:
                raise Forbidden("Only editors can list draft or archived products.", field="status")
            base = base.where(Product.status == Status.ACTIVE.value)
        page = await query.paginator.fetch_rows(self.database.fetch_all, base)
        return PageResult([to_record(row) for row in page.items], page.meta)

    async def records(self, product_ids: set[uuid.UUID]) -> dict[uuid.UUID, ProductRecord]:
        """Several live products in one query, whatever their status (orders expand to these)."""
        if not product_ids:
            return {}
        rows = await self.database.fetch_all(
            PRODUCTS_BY_IDS, {"product_ids": list(product_ids)}, by_key=True
        )
        return {row.id: to_record(row) for row in rows}

    async def price_list(
        self, session: AsyncSession, product_ids: set[uuid.UUID]
    ) -> dict[uuid.UUID, ProductRecord]:
        """Current products read inside the caller's transaction (prices at order time)."""
        rows = await session.execute(product_rows().where(Product.id.in_(product_ids)))
        return {row.id: to_record(row) for row in rows}

    # --- commands ------------------------------------------------------------------------

    async def create(self, data: ProductWrite, attempt: Attempt = NO_KEY) -> ProductRecord:
        """Add a product (draft or active) with no stock."""
        resumed = attempt.resumed(PRODUCT_ADDED)
        if resumed is not None:
            async with self.database.session() as session:
                added = await ProductRepository(session).record(uuid.UUID(resumed["productId"]))
            if added is None:
                raise ProductNotFound()  # created, then deleted before this retry
            await self.changes.product(added.id)  # may not have run after the commit
            return added
        check_initial_status(data.status)
        product_id = new_id()
        async with self.database.unit_of_work() as uow:
            products = ProductRepository(uow.session)
            await self._check_references(uow.session, data, products)
            product = Product(id=product_id, **_columns(data))
            await products.add(product)
            await products.set_tags(product_id, data.tags)
            record = await _reread(products, product_id)
            events.record(uow.session, ProductCreated.model_validate(record))
            await attempt.reach(uow.session, PRODUCT_ADDED, productId=str(product_id))
            await _commit(uow)
        await self.changes.product(product_id)  # cached lists must show it
        return record

    async def replace(
        self, product_id: uuid.UUID, data: ProductWrite, *, expected_version: int | None = None
    ) -> ProductRecord:
        """Replace every writable field (PUT); status moves only forward."""
        async with self.database.unit_of_work() as uow:
            products = ProductRepository(uow.session)
            product = await products.lock(product_id)
            if product is None:
                raise ProductNotFound()
            if expected_version is not None and product.version != expected_version:
                raise PreconditionFailed(field="If-Match")
            check_transition(product.status, data.status)
            await self._check_references(uow.session, data, products, other_than=product_id)
            for name, value in _columns(data).items():
                setattr(product, name, value)
            product.updated_at = utcnow()
            await uow.session.flush()
            await products.set_tags(product_id, data.tags)
            record = await _reread(products, product_id)
            events.record(uow.session, ProductUpdated.model_validate(record))
            await _commit(uow)
        await self.changes.product(product_id)
        return record

    async def patch(
        self,
        product_id: uuid.UUID,
        document: Any,
        *,
        kind: PatchKind,
        api_version: int,
        expected_version: int | None = None,
    ) -> ProductRecord:
        """Apply a merge patch or JSON Patch to the client's view, then replace (same rules)."""
        async with self.database.session() as session:
            current = await ProductRepository(session).record(product_id)
        if current is None:
            raise ProductNotFound()
        view = editable_v2(current) if api_version == 2 else editable_v1(current)
        if kind == "json":
            # The operations were valid; what they made is not a valid product (RFC 5789: 422).
            try:
                data = _validate(json_patch(view, document), api_version)
            except ValidationFailed as invalid:
                raise PatchFailed(
                    "The patched product is not valid; see errors for each field.",
                    errors=invalid.errors,
                    code="patch_result_invalid",
                ) from None
        else:
            # A merge patch names the fields it sets: a wrong one is a wrong request (400).
            data = _validate(merge_patch(view, document), api_version)
        if expected_version is not None and expected_version != current.version:
            raise PreconditionFailed(field="If-Match")
        try:
            # Only the version that was patched may be replaced.
            return await self.replace(product_id, data, expected_version=current.version)
        except PreconditionFailed:
            if expected_version is not None:
                raise
            raise Conflict("The product changed while the patch was applied; retry.") from None

    async def delete(self, product_id: uuid.UUID, *, expected_version: int | None = None) -> None:
        """Delete a product: reads treat it as gone; orders that refer to it keep their copy."""
        async with self.database.unit_of_work() as uow:
            product = await ProductRepository(uow.session).lock(product_id)
            if product is None:
                raise ProductNotFound()
            if expected_version is not None and product.version != expected_version:
                raise PreconditionFailed(field="If-Match")
            product.deleted_at = utcnow()
            events.record(uow.session, ProductDeleted(id=product_id, sku=product.sku))
            await uow.commit()
        await self.changes.product(product_id)

    async def _check_references(
        self,
        session: Any,
        data: ProductWrite,
        products: ProductRepository,
        *,
        other_than: uuid.UUID | None = None,
    ) -> None:
        if await products.sku_taken(data.sku, other_than=other_than):
            raise DuplicateSku(field="sku")
        if data.category_id is not None and not await CategoryRepository(session).exists(
            data.category_id
        ):
            raise UnknownCategory(field="categoryId")


def _columns(data: ProductWrite) -> dict[str, Any]:
    return {
        "sku": data.sku,
        "name": data.name,
        "description": data.description,
        "price_cents": data.price_cents,
        "currency": data.currency,
        "status": data.status.value,
        "category_id": data.category_id,
        "tags": list(data.tags),
    }


def _validate(document: Any, api_version: int) -> ProductWrite:
    try:
        if api_version == 2:
            return ProductReplaceV2.model_validate(document).to_v1()
        return ProductReplace.model_validate(document)
    except ValidationError as error:
        raise translate_validation_errors(error.errors()) from None


async def _reread(products: ProductRepository, product_id: uuid.UUID) -> ProductRecord:
    record = await products.record(product_id)
    if record is None:  # pragma: no cover - we hold the row lock
        raise ProductNotFound()
    return record


async def _commit(uow: Any) -> None:
    try:
        await uow.commit()
    except IntegrityError:
        raise DuplicateSku(field="sku") from None
