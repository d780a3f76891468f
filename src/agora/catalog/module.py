"""How the catalog plugs into an Agora instance: its wiring (used by `agora.app` only).

Its services are built once, here, from the instance's infrastructure; the routes reach them
through this context's one `app.state.catalog` key, and other contexts are handed `products`
and `inventory`.
"""

from dataclasses import dataclass

from fastapi import FastAPI

from agora.catalog import cache
from agora.catalog.api import categories, images, imports, inventory, products, products_v2
from agora.catalog.cache import CatalogChanges, ProductCache
from agora.catalog.consumers import CacheRepair
from agora.catalog.imports import JOB_TYPE, ImportService, ProductImport
from agora.catalog.service import CategoryService, ImageService, InventoryService, ProductService
from agora.jobs import JobHandler, JobQueue
from agora.platform.broker import Subscription
from agora.platform.http.path_rules import PathRules
from agora.platform.runtime import Runtime


@dataclass(frozen=True)
class CatalogServices:
    products: ProductService
    categories: CategoryService
    inventory: InventoryService
    images: ImageService
    imports: ImportService


_MULTIPART_OVERHEAD = 64 * 1024


class CatalogModule:
    def __init__(self, runtime: Runtime, jobs: JobQueue) -> None:
        settings = runtime.settings
        product_cache = ProductCache(runtime.cache, settings.product_cache_ttl_seconds)
        cache.subscribe(runtime, product_cache)
        changes = CatalogChanges(product_cache, runtime.broadcast)
        product_service = ProductService(runtime.database, product_cache, changes)
        self.services = CatalogServices(
            products=product_service,
            categories=CategoryService(runtime.database, changes),
            inventory=InventoryService(
                runtime.database, changes, low_stock=settings.low_stock_threshold
            ),
            images=ImageService(
                runtime.database,
                runtime.storage,
                product_service,
                max_image_bytes=settings.max_upload_bytes,
                max_upload_bytes=settings.max_signed_upload_bytes,
                upload_ttl_seconds=settings.upload_url_ttl_seconds,
            ),
            imports=ImportService(
                runtime.database, runtime.storage, jobs, max_bytes=settings.import_max_bytes
            ),
        )
        self.job_handlers: dict[str, JobHandler] = {
            JOB_TYPE: ProductImport(
                runtime.database, runtime.storage, changes, max_rows=settings.import_max_rows
            )
        }
        self.subscriptions: list[Subscription] = [CacheRepair(changes.product).subscription()]
        # What other contexts are given (ordering prices and takes stock with these).
        self.products = self.services.products
        self.inventory = self.services.inventory
        self.rules = PathRules(
            # Signed uploads stream large files straight to storage.
            body_limits=(
                (images.UPLOADS_PATH + "/", settings.max_signed_upload_bytes),
                (imports.IMPORTS_PATH, settings.import_max_bytes + _MULTIPART_OVERHEAD),
            ),
            versioned=((2, "products"),),
        )

    def install(self, app: FastAPI) -> None:
        app.state.catalog = self.services
        app.include_router(imports.router)
        app.include_router(products.router)
        app.include_router(products_v2.router)
        app.include_router(categories.router)
        app.include_router(inventory.router)
        app.include_router(images.router)
