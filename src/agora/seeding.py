"""Demo data for `agora seed`: each module that has some contributes a seeder here.

Seeders are idempotent (they look before they insert), so `make run` can seed on every start.
"""

from collections.abc import AsyncIterator

from agora.identity.seed import seed_demo_admin
from agora.platform.runtime import Runtime
from agora.settings import Settings


async def seed_all(settings: Settings) -> AsyncIterator[str]:
    """Run every seeder, yielding lines of progress."""
    runtime = Runtime.create(settings)
    try:
        yield await seed_demo_admin(runtime)
    finally:
        await runtime.close()
