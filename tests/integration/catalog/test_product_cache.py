"""Cache-aside for GET /products/{id}: a hit runs no SQL; every write invalidates; failures
degrade to the database."""

import asyncio
from collections.abc import Callable

import httpx
import pytest
from fastapi import FastAPI

from agora.settings import Settings
from tests.support.auth import Caller
from tests.support.catalog import make_product
from tests.support.instances import instances
from tests.support.random_refs import unique
from tests.support.sql import counting_sql


async def test_a_cached_read_runs_no_sql(
    app: FastAPI, client: httpx.AsyncClient, editor: Caller
) -> None:
    product = await make_product(client, editor)
    url = f"/api/v1/products/{product['id']}"
    with counting_sql(app) as statements:
        assert (await client.get(url)).status_code == 200  # miss: reads the database
    assert any("FROM products" in sql for sql in statements)
    with counting_sql(app) as statements:
        for _ in range(3):
            assert (await client.get(url)).status_code == 200
    assert statements == []


async def test_every_write_invalidates(
    client: httpx.AsyncClient, editor: Caller, admin: Caller
) -> None:
    product = await make_product(client, editor)
    url = f"/api/v1/products/{product['id']}"
    await client.get(url)
    await client.patch(url, json={"name": "Renamed"}, headers=editor.headers)
    assert (await client.get(url)).json()["data"]["name"] == "Renamed"
    await client.put(
        f"/api/v1/inventory/{product['id']}", json={"quantity": 9}, headers=admin.headers
    )
    assert (await client.get(url)).json()["data"]["stock"] == 9
    await client.delete(url, headers=admin.headers)
    assert (await client.get(url)).status_code == 404


@pytest.mark.needs_redis
async def test_a_write_on_one_instance_invalidates_the_other(
    make_settings: Callable[..., Settings],
) -> None:
    async with instances(make_settings, 2, product_cache_ttl_seconds=600) as pairs:
        (app_a, client_a), (app_b, client_b) = pairs
        from tests.support.auth import make_caller

        await asyncio.wait_for(app_b.state.runtime.broadcast.connected.wait(), 5)
        editor = await make_caller(app_a, client_a, "editor")
        product = await make_product(client_a, editor)
        url = f"/api/v1/products/{product['id']}"
        assert (await client_b.get(url)).json()["data"]["name"] == product["name"]  # cached on B
        assert (await client_b.get(url)).json()["data"]["name"] == product["name"]
        await client_a.patch(url, json={"name": "Changed on A"}, headers=editor.headers)
        for _ in range(100):  # B hears of the write through Redis within milliseconds
            if (await client_b.get(url)).json()["data"]["name"] == "Changed on A":
                break
            await asyncio.sleep(0.01)
        else:
            raise AssertionError("instance B still serves the old product")


async def test_the_memory_cache_is_invalidated_by_writes(
    make_settings: Callable[..., Settings],
) -> None:
    """Without Redis the cache lives in process memory; writes still invalidate it."""
    async with instances(make_settings, 1, redis_url=None, product_cache_ttl_seconds=600) as [
        (app, client)
    ]:
        from tests.support.auth import make_caller

        editor = await make_caller(app, client, "editor")
        product = await make_product(client, editor)
        url = f"/api/v1/products/{product['id']}"
        await client.get(url)
        await client.patch(url, json={"name": "Fresh"}, headers=editor.headers)
        assert (await client.get(url)).json()["data"]["name"] == "Fresh"


async def test_cache_failure_degrades_to_the_database(
    make_settings: Callable[..., Settings],
) -> None:
    async with instances(make_settings, 1, redis_url="redis://127.0.0.1:1/0") as [(app, client)]:
        from tests.support.auth import make_caller

        editor = await make_caller(app, client, "editor")
        product = await make_product(client, editor)
        url = f"/api/v1/products/{product['id']}"
        for _ in range(2):
            response = await client.get(url)
            assert response.status_code == 200
            assert response.json()["data"]["id"] == product["id"]
        renamed = await client.patch(url, json={"name": "Still works"}, headers=editor.headers)
        assert renamed.status_code == 200


async def test_a_repeated_accept_encoding_cannot_poison_the_cache(
    client: httpx.AsyncClient, editor: Caller
) -> None:
    """The cache keys on the header the compressor obeys (the first), so a request saying
    `gzip` then `identity` cannot store a gzipped body for clients that asked for none."""
    product = await make_product(client, editor, description="Long enough to be compressed. " * 60)
    url = f"/api/v1/products/{product['id']}"
    request = client.build_request("GET", url)
    request.headers = httpx.Headers(
        [(k, v) for k, v in request.headers.multi_items() if k.lower() != "accept-encoding"]
        + [("Accept-Encoding", "gzip"), ("Accept-Encoding", "identity")]
    )
    assert (await client.send(request)).headers["content-encoding"] == "gzip"
    plain = await client.get(url, headers={"Accept-Encoding": "identity"})
    assert plain.status_code == 200
    assert "content-encoding" not in plain.headers
    assert plain.json()["data"]["id"] == product["id"]


async def test_a_new_product_appears_in_a_cached_list(
    client: httpx.AsyncClient, editor: Caller
) -> None:
    tag = unique("new").lower()
    first = await make_product(client, editor, tags=[tag])
    params = {"tag": tag, "limit": 100}
    listed = await client.get("/api/v1/products", params=params)
    assert listed.headers["cache-control"].startswith("public"), listed.text
    second = await make_product(client, editor, tags=[tag])
    ids = {p["id"] for p in (await client.get("/api/v1/products", params=params)).json()["data"]}
    assert ids == {first["id"], second["id"]}
