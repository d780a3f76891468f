"""What the catalog does when events arrive (in this process, or in `agora worker`)."""

import uuid
from collections.abc import Awaitable, Callable, Sequence

from agora.platform.broker import Delivery, Subscription
from agora.platform.observability import get_logger

log = get_logger("agora.catalog")

# Ordering's events as they are published (version 1): the lines' `productId`s. Read from the
# wire, not imported: the catalog sits below ordering and knows it only by its events.
_ORDER_EVENTS = ("order.created", "order.cancelled")

Repair = Callable[[Sequence[uuid.UUID]], Awaitable[Sequence[uuid.UUID]]]


class CacheRepair:
    """When an event says a product changed, purge the cached copies that missed the change.

    The purge a write makes right after its commit (`CatalogChanges`) is immediate, and every
    instance hears it through Redis before the write answers; but it is lost if the process dies
    between the commit and the purge, or if Redis stays away until then. The event is durable,
    so this check always comes: a cached copy that differs from the database is purged (fresh
    copies stay, so a reader who just filled the cache keeps its hit). Checking twice does no
    harm: it needs no inbox.
    """

    def __init__(self, repair: Repair) -> None:
        self.repair = repair

    def subscription(self) -> Subscription:
        return Subscription("catalog-cache", ("product.*", "inventory.*", *_ORDER_EVENTS), self)

    async def __call__(self, delivery: Delivery) -> None:
        product_ids = _products_of(delivery)
        if product_ids and (stale := await self.repair(product_ids)):
            log.warning("stale_cache_repaired", event_id=str(delivery.id), products=len(stale))


def _products_of(delivery: Delivery) -> list[uuid.UUID]:
    if delivery.type in _ORDER_EVENTS:
        return [uuid.UUID(line["productId"]) for line in delivery.payload.get("items", [])]
    if delivery.subject_type == "product":
        return [uuid.UUID(delivery.subject_id)]
    return []
