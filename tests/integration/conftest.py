from collections.abc import AsyncIterator

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from agora.app import create_app
from agora.settings import Settings
from tests.conftest import http_client
from tests.support import chassis


@pytest.fixture(scope="session")
async def chassis_app(settings: Settings) -> AsyncIterator[FastAPI]:
    """Agora plus the test-only chassis routes, with their scratch table created."""
    application = create_app(settings)
    application.include_router(chassis.router)
    async with LifespanManager(application):
        async with application.state.runtime.database.engine.begin() as connection:
            await connection.run_sync(chassis.scratch.create_all)
        yield application


@pytest.fixture
async def chassis_client(chassis_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with http_client(chassis_app) as session:
        yield session
