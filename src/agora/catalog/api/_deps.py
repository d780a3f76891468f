"""Service providers for the catalog routes."""

from typing import Annotated

from fastapi import Depends

from agora.catalog.service import CategoryService, ImageService, InventoryService, ProductService
from agora.platform.runtime import RuntimeDep
from agora.platform.security import Principal, authorize


def product_service(runtime: RuntimeDep) -> ProductService:
    return ProductService(runtime)


def category_service(runtime: RuntimeDep) -> CategoryService:
    return CategoryService(runtime)


def inventory_service(runtime: RuntimeDep) -> InventoryService:
    return InventoryService(runtime)


def image_service(runtime: RuntimeDep) -> ImageService:
    return ImageService(runtime)


Products = Annotated[ProductService, Depends(product_service)]
Categories = Annotated[CategoryService, Depends(category_service)]
Inventory = Annotated[InventoryService, Depends(inventory_service)]
Images = Annotated[ImageService, Depends(image_service)]

Editor = Annotated[Principal, authorize("editor", "admin", scope="products:write")]
Admin = Annotated[Principal, authorize("admin", scope="products:write")]
StockReader = Annotated[Principal, authorize("editor", "admin", scope="products:read")]
StockWriter = Annotated[Principal, authorize("admin", scope="inventory:write")]
