"""How the catalog plugs into an Agora instance (used by `agora.app` only)."""

from fastapi import FastAPI

from agora.catalog import api, cache
from agora.catalog.service import InventoryService, ProductService
from agora.platform.http.path_rules import PathRules
from agora.platform.runtime import Runtime


class CatalogModule:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        cache.subscribe(runtime)
        # What other contexts are given (ordering prices and takes stock with these).
        self.products = ProductService(runtime)
        self.inventory = InventoryService(runtime)
        self.rules = PathRules(
            # Signed uploads stream large files straight to storage.
            body_limits=((api.UPLOADS_PATH + "/", runtime.settings.max_signed_upload_bytes),),
            v2_resources=frozenset({"products"}),
        )

    def install(self, app: FastAPI) -> None:
        app.include_router(api.product_router(1))
        app.include_router(api.product_router(2))
        app.include_router(api.categories)
        app.include_router(api.inventory)
        app.include_router(api.images)
