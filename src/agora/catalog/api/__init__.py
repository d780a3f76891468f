"""Catalog routes: products (v1 and v2), categories, inventory, images and uploads."""

from agora.catalog.api._categories import router as categories
from agora.catalog.api._images import UPLOADS_PATH
from agora.catalog.api._images import router as images
from agora.catalog.api._inventory import router as inventory
from agora.catalog.api._products import product_router

__all__ = ["UPLOADS_PATH", "categories", "images", "inventory", "product_router"]
