"""What the catalog does when events arrive (in this process, or in `agora worker`)."""

import uuid
from collections.abc import Awaitable, Callable

from agora.platform.broker import Delivery, Subscription
from agora.platform.observability import get_logger

log = get_logger("agora.catalog")

# Ordering's events as they are published (version 1): the lines' `productId`s. Read from the
# wire, not imported: the catalog sits below ordering and knows it only by its events.
_ORDER_EVENTS = ("order.created", "order.cancelled")
_ORDER_EVENT_VERSION = 1

Purge = Callable[[uuid.UUID], Awaitable[None]]


class CacheRepair:
    """When an event says a product changed, purge its cached copies again, everywhere.

    The purge a write makes right after its commit (`CatalogChanges`) is immediate, and every
    instance hears it through Redis before the write answers; but it is lost if the process dies
    between the commit and the purge. The event is durable, so this second purge always comes
    (a Redis that is away meanwhile owes it and resends it). It costs a cache miss per change,
    and purging twice does no harm: it needs no inbox.
    """

    def __init__(self, purge: Purge) -> None:
        self.purge = purge

    def subscription(self) -> Subscription:
        return Subscription("catalog-cache", ("product.*", "inventory.*", *_ORDER_EVENTS), self)

    async def __call__(self, delivery: Delivery) -> None:
        for product_id in _products_of(delivery):
            await self.purge(product_id)


def _products_of(delivery: Delivery) -> list[uuid.UUID]:
    if delivery.type in _ORDER_EVENTS:
        if delivery.version != _ORDER_EVENT_VERSION:
            log.error("unknown_event_version", event_type=delivery.type, version=delivery.version)
            return []
        return [uuid.UUID(line["productId"]) for line in delivery.payload.get("items", [])]
    if delivery.subject_type == "product":
        return [uuid.UUID(delivery.subject_id)]
    return []
