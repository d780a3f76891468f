"""What the catalog announces (outbox events) and broadcasts (cache invalidation)."""

import uuid

from agora.catalog.schemas import ProductRead
from agora.platform.events import Event


class _ProductEvent(ProductRead, Event):
    """The product as `GET /products/{id}` shows it (v1), after the change."""

    SUBJECT = "product"

    def subject_id(self) -> str:
        return str(self.id)


class ProductCreated(_ProductEvent):
    TYPE = "product.created"


class ProductUpdated(_ProductEvent):
    TYPE = "product.updated"


class ProductDeleted(Event):
    TYPE = "product.deleted"
    SUBJECT = "product"

    id: uuid.UUID
    sku: str

    def subject_id(self) -> str:
        return str(self.id)


class InventoryLow(Event):
    """A product's stock fell to its low-stock threshold or below."""

    TYPE = "inventory.low"
    SUBJECT = "product"

    product_id: uuid.UUID
    quantity: int
    threshold: int

    def subject_id(self) -> str:
        return str(self.product_id)


# Broadcast to every instance after a product's committed change: drop cached copies.
PRODUCT_CHANGED_CHANNEL = "catalog.product_changed"
CATEGORIES_CHANGED_CHANNEL = "catalog.categories_changed"
