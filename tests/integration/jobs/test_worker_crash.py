"""A worker killed (SIGKILL) in the middle of an import: the job is taken again once its lease
runs out, resumes after the last committed batch, and every row is imported exactly once."""

import asyncio
import secrets
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from sqlalchemy import func, select

from agora.app import create_app
from agora.catalog.models import Product
from agora.jobs.models import Job
from agora.platform.events import EventRecord
from agora.settings import Settings
from tests.conftest import http_client
from tests.integration.jobs.conftest import HEADER, job, upload
from tests.support import backends
from tests.support.auth import make_caller
from tests.support.server import working

ROWS = 6_000


@pytest.fixture(scope="module")
async def quiet_app(make_settings: Callable[..., Settings]) -> AsyncIterator[FastAPI]:
    """An instance that takes uploads and runs no background: the workers do."""
    application = create_app(make_settings())
    async with LifespanManager(application):
        yield application


@pytest.mark.slow
async def test_a_worker_killed_mid_import_leaves_every_row_imported_exactly_once(
    quiet_app: FastAPI, settings: Settings, tmp_path: Path
) -> None:
    database = quiet_app.state.runtime.database
    prefix = f"agora-crash-{secrets.token_hex(4)}"
    env = {
        "AGORA_JOB_LEASE_SECONDS": "2",
        "AGORA_JOB_POLL_MS": "50",
        "AGORA_BROKER_PREFIX": prefix,
    }
    if settings.broker_url:
        env["AGORA_BROKER_URL"] = settings.broker_url
    sku = f"CRASH-{secrets.token_hex(4)}"
    rows = "".join(
        f"{sku}-{n},Crash test {n},,{100 + n},USD,draft,a|b,{n % 7}\n" for n in range(ROWS)
    )

    async with http_client(quiet_app) as client:
        editor = await make_caller(quiet_app, client, "editor")
        response = await upload(client, editor, f"{HEADER}\n{rows}".encode())
        assert response.status_code == 202, response.text
        job_id = uuid.UUID(response.json()["data"]["id"])

        async def progress() -> tuple[str, int]:
            async with database.session() as session:
                found = await session.get(Job, job_id)
                assert found is not None
                return found.status, found.progress_done

        try:
            with working(settings, tmp_path / "worker-a.log", **env) as first:
                async with asyncio.timeout(120):
                    while (await progress())[1] < ROWS // 5:  # noqa: ASYNC110 - another process
                        await asyncio.sleep(0.02)
                first.kill()  # SIGKILL, mid-file
                assert first.wait(timeout=10) == -9
            status, at_kill = await progress()
            assert status == "running" and at_kill < ROWS, "the import ended before the kill"

            with working(settings, tmp_path / "worker-b.log", **env):
                async with asyncio.timeout(180):
                    while (await progress())[0] == "running":  # noqa: ASYNC110 - another process
                        await asyncio.sleep(0.1)
                    # Leave no unpublished events behind for the tests that follow.
                    while await _unpublished(quiet_app):  # noqa: ASYNC110 - another process
                        await asyncio.sleep(0.1)
        finally:
            if settings.broker_url:
                await backends.delete_queues(
                    settings.broker_url,
                    [f"{prefix}.webhooks", f"{prefix}.catalog-cache", f"{prefix}.jobs-wake"],
                )

        done = await job(client, editor, f"/api/v1/jobs/{job_id}")
        assert done["status"] == "succeeded", done
        assert done["result"] == {"imported": ROWS, "failed": 0, "errors": []}
        assert done["progress"] == {"done": ROWS, "total": ROWS}

    async with database.session() as session:
        imported = (
            await session.execute(
                select(Product.sku, func.count())
                .where(Product.sku.like(f"{sku}-%"))
                .group_by(Product.sku)
            )
        ).all()
        announced = await session.scalar(
            select(func.count())
            .select_from(EventRecord)
            .where(EventRecord.type == "product.created")
            .where(EventRecord.payload["sku"].as_string().like(f"{sku}-%"))
        )
        attempts = await session.scalar(select(Job.attempts).where(Job.id == job_id))
    assert len(imported) == ROWS and all(count == 1 for _, count in imported)
    assert announced == ROWS  # one product.created per product: no batch committed twice
    assert attempts == 2


async def _unpublished(app: FastAPI) -> int:
    async with app.state.runtime.database.session() as session:
        return int(
            await session.scalar(
                select(func.count())
                .select_from(EventRecord)
                .where(EventRecord.published_at.is_(None))
            )
            or 0
        )
