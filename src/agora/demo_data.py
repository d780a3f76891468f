"""Demo data for `agora seed`: each module that has some contributes a seeder here.

Seeders are idempotent (they look before they insert), so `make run` can seed on every start.
"""

from collections.abc import AsyncIterator, Callable

from agora.catalog.seed import seed_products
from agora.identity.seed import seed_demo_admin
from agora.platform.runtime import Runtime
from agora.settings import Settings

DEFAULT_PRODUCTS = 240


async def seed_all(
    settings: Settings,
    *,
    products: int = DEFAULT_PRODUCTS,
    progress: Callable[[int], None] | None = None,
) -> AsyncIterator[str]:
    """Run every seeder, yielding lines of progress."""
    runtime = Runtime.create(settings.for_bulk_work())  # a million products take a while
    try:
        yield await seed_demo_admin(runtime)
        inserted, present = await seed_products(runtime, products, progress)
        yield f"Catalog: {inserted} products added; {present} demo products in all."
    finally:
        await runtime.close()
