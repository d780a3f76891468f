"""Several Agora instances in one test, sharing the test database (and Redis, if any)."""

from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import httpx
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from agora.app import create_app
from agora.platform.clock import ShiftedClock
from agora.settings import Settings


@asynccontextmanager
async def instances(
    make_settings: Callable[..., Settings], count: int = 2, ip: str = "198.51.100.9", **changes: Any
) -> AsyncIterator[list[tuple[FastAPI, httpx.AsyncClient]]]:
    """`count` apps built from the same settings, each with a client calling from `ip` and a
    clock the test can move (`app.state.runtime.clock.offset`)."""
    async with AsyncExitStack() as stack:
        pairs = []
        for _ in range(count):
            app = create_app(make_settings(**changes), clock=ShiftedClock())
            await stack.enter_async_context(LifespanManager(app))
            transport = httpx.ASGITransport(app=app, client=(ip, 4000))
            client = httpx.AsyncClient(transport=transport, base_url="http://agora.test")
            await stack.enter_async_context(client)
            pairs.append((app, client))
        yield pairs
