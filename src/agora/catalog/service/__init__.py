"""Catalog use cases: products, categories, inventory and images."""

from agora.catalog.service._categories import CategoryService
from agora.catalog.service._images import ImageService
from agora.catalog.service._inventory import InventoryService
from agora.catalog.service._products import ProductService

__all__ = ["CategoryService", "ImageService", "InventoryService", "ProductService"]
