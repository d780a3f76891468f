"""The catalog routes' services (built once by the module, in `app.state.catalog`)."""

from typing import Annotated

from fastapi import Depends, Request

from agora.catalog.imports import ImportService
from agora.catalog.service import CategoryService, ImageService, InventoryService, ProductService
from agora.platform.security import Principal, Role, Scope, authorize


def products_of(request: Request) -> ProductService:
    products: ProductService = request.app.state.catalog.products
    return products


async def product_service(request: Request) -> ProductService:
    return products_of(request)


async def category_service(request: Request) -> CategoryService:
    categories: CategoryService = request.app.state.catalog.categories
    return categories


async def inventory_service(request: Request) -> InventoryService:
    inventory: InventoryService = request.app.state.catalog.inventory
    return inventory


async def image_service(request: Request) -> ImageService:
    images: ImageService = request.app.state.catalog.images
    return images


async def import_service(request: Request) -> ImportService:
    imports: ImportService = request.app.state.catalog.imports
    return imports


ProductImports = Annotated[ImportService, Depends(import_service)]
Products = Annotated[ProductService, Depends(product_service)]
Categories = Annotated[CategoryService, Depends(category_service)]
Inventory = Annotated[InventoryService, Depends(inventory_service)]
Images = Annotated[ImageService, Depends(image_service)]

Editor = Annotated[Principal, authorize(Role.EDITOR, Role.ADMIN, scope=Scope.PRODUCTS_WRITE)]
Admin = Annotated[Principal, authorize(Role.ADMIN, scope=Scope.PRODUCTS_WRITE)]
StockReader = Annotated[Principal, authorize(Role.EDITOR, Role.ADMIN, scope=Scope.PRODUCTS_READ)]
StockWriter = Annotated[Principal, authorize(Role.ADMIN, scope=Scope.INVENTORY_WRITE)]
