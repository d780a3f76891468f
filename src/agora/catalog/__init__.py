"""Catalog: products, categories, inventory and product images.

Its public face, for other contexts: `InventoryService` (take and give back stock inside their
own transaction), `ProductService` (prices at order time, product reads), `ProductStatus` and
the `ProductRead` DTO. Nothing else of the catalog is imported from outside it.
"""

from agora.catalog.domain import Status as ProductStatus
from agora.catalog.schemas import ProductRead
from agora.catalog.service import InventoryService, ProductService

__all__ = ["InventoryService", "ProductRead", "ProductService", "ProductStatus"]
