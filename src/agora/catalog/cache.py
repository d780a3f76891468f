"""Cache-aside for single products: `product:{id}` -> the product's read model as JSON.

Every committed change deletes the entry (shared Redis: once for all instances) and broadcasts
`catalog.product_changed`, so in-process copies in other instances go too. Entries also expire
after `AGORA_PRODUCT_CACHE_TTL_SECONDS`, which bounds the damage of any lost invalidation.
"""

import uuid
from typing import Any

from agora.catalog.events import CATEGORIES_CHANGED_CHANNEL, PRODUCT_CHANGED_CHANNEL
from agora.catalog.schemas import ProductRecord
from agora.platform.broadcast import Broadcast
from agora.platform.cache import Cache
from agora.platform.runtime import Runtime

PRODUCTS_TAG = "products"
CATEGORIES_TAG = "categories"


def _key(product_id: uuid.UUID) -> str:
    return f"product:{product_id}"


class ProductCache:
    def __init__(self, cache: Cache, ttl: float) -> None:
        self.cache = cache
        self.ttl = ttl

    async def get(self, product_id: uuid.UUID) -> ProductRecord | None:
        if self.ttl <= 0:
            return None
        raw = await self.cache.get(_key(product_id))
        return ProductRecord.model_validate_json(raw) if raw is not None else None

    async def put(self, record: ProductRecord) -> None:
        if self.ttl > 0:
            await self.cache.set(_key(record.id), record.model_dump_json().encode(), self.ttl)

    async def forget(self, product_id: uuid.UUID) -> None:
        await self.cache.delete(_key(product_id))


class CatalogChanges:
    """After a commit: tell every instance what changed, so that no cache keeps the old state."""

    def __init__(self, products: ProductCache, broadcast: Broadcast) -> None:
        self.products = products
        self.broadcast = broadcast

    async def product(self, product_id: uuid.UUID) -> None:
        """Drop the cached product here and, through the broadcast, everywhere."""
        await self.products.forget(product_id)
        await self.broadcast.publish(PRODUCT_CHANGED_CHANNEL, {"id": str(product_id)})

    async def products_added(self, product_ids: list[uuid.UUID]) -> None:
        """After new products (an import's batch): no cache holds them yet, but every cached
        list is stale. One message purges the lists everywhere (it names one of them)."""
        if product_ids:
            await self.product(product_ids[-1])

    async def categories(self, category_id: uuid.UUID) -> None:
        await self.broadcast.publish(CATEGORIES_CHANGED_CHANNEL, {"id": str(category_id)})


def subscribe(runtime: Runtime, cache: ProductCache) -> None:
    """Purge this instance's caches when any instance announces a change."""

    async def forget(message: dict[str, Any]) -> None:
        await cache.forget(uuid.UUID(message["id"]))
        if runtime.response_cache is not None:
            runtime.response_cache.purge(f"product:{message['id']}", PRODUCTS_TAG)

    async def forget_categories(_: dict[str, Any]) -> None:
        if runtime.response_cache is not None:
            runtime.response_cache.purge(CATEGORIES_TAG)

    async def forget_everything() -> None:
        if runtime.response_cache is not None:  # purges from other instances may be lost
            runtime.response_cache.clear()

    runtime.broadcast.subscribe(PRODUCT_CHANGED_CHANNEL, forget)
    runtime.broadcast.subscribe(CATEGORIES_CHANGED_CHANNEL, forget_categories)
    runtime.broadcast.on_resync(forget_everything)


def response_tags(product_id: uuid.UUID | None = None) -> dict[str, str]:
    """Internal headers that let the response cache keep, and later purge, a catalog read."""
    if product_id is None:
        return {"X-Agora-Cache-Tags": PRODUCTS_TAG}
    # Every caller who can see an active product gets the same bytes: shareable.
    return {"X-Agora-Cache-Tags": f"product:{product_id}", "X-Agora-Cache": "shared"}
