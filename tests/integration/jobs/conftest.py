"""Helpers for background jobs: upload an import, run the queued jobs, read a job."""

from typing import Any

import httpx
from fastapi import FastAPI

from tests.support.auth import Caller

HEADER = "sku,name,description,priceCents,currency,status,tags,stock"


async def upload(
    client: httpx.AsyncClient,
    caller: Caller,
    content: bytes,
    *,
    key: str | None = None,
    name: str = "products.csv",
) -> httpx.Response:
    headers = dict(caller.headers)
    if key is not None:
        headers["Idempotency-Key"] = key
    return await client.post(
        "/api/v1/products/imports",
        files={"file": (name, content, "text/csv")},
        headers=headers,
    )


async def run_jobs(app: FastAPI) -> int:
    """Run what is queued, as a worker would (the test app's background is off)."""
    ran: int = await app.state.job_runner.run_once()
    return ran


async def job(client: httpx.AsyncClient, caller: Caller, location: str) -> dict[str, Any]:
    response = await client.get(location, headers=caller.headers)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()["data"]
    return data
