"""Workers wake on `job.queued` (through the broker in production): a queued job starts at
once, not at the next poll."""

import asyncio
from collections.abc import AsyncIterator, Callable

import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from agora.app import create_app
from agora.settings import Settings
from tests.conftest import http_client
from tests.integration.jobs.conftest import HEADER, job, upload
from tests.support.auth import make_caller
from tests.support.random_refs import unique


@pytest.fixture(scope="module")
async def working_app(make_settings: Callable[..., Settings]) -> AsyncIterator[FastAPI]:
    settings = make_settings(
        jobs_enabled=True,
        job_poll_ms=600_000,  # ten minutes: only the event can start the job in time
        relay_idle_ms=20,
        order_expiry_every_seconds=3600,
    )
    application = create_app(settings)
    async with LifespanManager(application):
        yield application


async def test_a_queued_job_wakes_a_worker_through_its_event(working_app: FastAPI) -> None:
    async with http_client(working_app) as client:
        editor = await make_caller(working_app, client, "editor")
        sku = unique("wake").replace("_", "-")[:60]
        response = await upload(
            client, editor, f"{HEADER}\n{sku},Kettle,,1,USD,draft,,1\n".encode()
        )
        assert response.status_code == 202, response.text
        async with asyncio.timeout(15):
            location = response.headers["location"]
            while (done := await job(client, editor, location))["status"] != "succeeded":  # noqa: ASYNC110 - the background
                await asyncio.sleep(0.05)
        assert done["result"]["imported"] == 1
