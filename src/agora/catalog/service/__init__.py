"""Catalog use cases: products, categories, inventory and images."""

from agora.catalog.service.categories import CategoryService
from agora.catalog.service.images import ImageService
from agora.catalog.service.inventory import InventoryService
from agora.catalog.service.products import ProductService

__all__ = ["CategoryService", "ImageService", "InventoryService", "ProductService"]
