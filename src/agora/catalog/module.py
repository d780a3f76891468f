"""How the catalog plugs into an Agora instance (used by `agora.app` only)."""

from fastapi import FastAPI

from agora.catalog import api, cache
from agora.platform.runtime import Runtime

# The first path segments /api/v2 serves (everything else is the same in every version).
V2_RESOURCES = frozenset({"products"})


class CatalogModule:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        cache.subscribe(runtime)

    def install(self, app: FastAPI) -> None:
        app.include_router(api.product_router(1))
        app.include_router(api.product_router(2))
        app.include_router(api.categories)
        app.include_router(api.inventory)
        app.include_router(api.images)
