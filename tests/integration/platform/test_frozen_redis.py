"""A Redis that stops answering costs requests nothing once noticed, and loses no purge.

Seen before the breaker: Redis frozen (SIGSTOP), every Redis call waited its 0.5 s timeout and
`POST /orders` went from a p50 of 12 ms to 1.52 s; a write made meanwhile never purged the other
instances' caches. These tests freeze a private Redis under two instances.
"""

import asyncio
import statistics
import time
from collections.abc import Callable

import httpx
import pytest

from agora.settings import Settings
from tests.support.auth import make_caller
from tests.support.catalog import PRODUCTS, make_product
from tests.support.instances import instances
from tests.support.orders import order_body
from tests.support.processes import private_redis

pytestmark = pytest.mark.slow  # real servers of its own, started and stopped


async def _order_times(
    client: httpx.AsyncClient, headers: dict[str, str], product: str
) -> list[float]:
    times = []
    for _ in range(20):
        started = time.perf_counter()
        response = await client.post(
            "/api/v1/orders", json=order_body((product, 1)), headers=headers
        )
        times.append(time.perf_counter() - started)
        assert response.status_code == 201, response.text
    return times


async def test_a_hung_redis_costs_orders_nothing_after_the_first_failures(
    make_settings: Callable[..., Settings],
) -> None:
    with private_redis() as redis:
        url = f"redis://127.0.0.1:{redis.port}/0"
        async with instances(make_settings, 1, redis_url=url, redis_probe_seconds=0.3) as [
            (app, client)
        ]:
            admin = await make_caller(app, client, "admin")
            editor = await make_caller(app, client, "editor")
            customer = await make_caller(app, client, "customer")
            product = (await make_product(client, editor, admin=admin, stock=1000))["id"]
            normal = statistics.median(await _order_times(client, customer.headers, product))
            redis.freeze()
            try:
                await _order_times(client, customer.headers, product)  # the first failures
                assert app.state.runtime.redis_breaker.is_open
                frozen = await _order_times(client, customer.headers, product)
            finally:
                redis.thaw()
            assert statistics.median(frozen) < normal + 0.1, (normal, frozen)
            assert max(frozen) < 0.4, frozen  # no request waits on Redis (timeout 0.5 s)
            await _until(lambda: not app.state.runtime.redis_breaker.is_open)


async def test_a_write_during_the_outage_purges_the_other_instances_when_redis_returns(
    make_settings: Callable[..., Settings],
) -> None:
    with private_redis() as redis:
        url = f"redis://127.0.0.1:{redis.port}/0"
        async with instances(make_settings, 2, redis_url=url, redis_probe_seconds=0.3) as [
            (app_a, writer),
            (app_b, reader),
        ]:
            await _until(lambda: app_b.state.runtime.broadcast.connected.is_set())
            admin = await make_caller(app_a, writer, "admin")
            editor = await make_caller(app_a, writer, "editor")
            product = await make_product(writer, editor, admin=admin, priceCents=1000)
            path = f"{PRODUCTS}/{product['id']}"
            assert (await reader.get(path)).json()["data"]["priceCents"] == 1000  # B caches it
            assert (await reader.get(path)).json()["data"]["priceCents"] == 1000
            redis.freeze()
            try:
                changed = await writer.patch(
                    path, json={"priceCents": 2000}, headers=editor.headers
                )
                assert changed.status_code == 200, changed.text
                assert app_a.state.runtime.broadcast.pending >= 1  # kept, not lost
            finally:
                redis.thaw()
            seen = await _until_price(reader, path, 2000)
            assert seen < 5, seen
            assert app_a.state.runtime.broadcast.pending == 0


async def _until_price(client: httpx.AsyncClient, path: str, price: int) -> float:
    started = time.perf_counter()
    while (await client.get(path)).json()["data"]["priceCents"] != price:
        assert time.perf_counter() - started < 15, "the other instance still serves the old price"
        await asyncio.sleep(0.1)
    return time.perf_counter() - started


async def _until(condition: Callable[[], bool]) -> None:
    for _ in range(150):
        if condition():
            return
        await asyncio.sleep(0.1)
    raise AssertionError("condition not met within 15 s")


async def test_a_broadcast_listener_that_reconnects_drops_what_it_may_have_missed(
    make_settings: Callable[..., Settings],
) -> None:
    """Redis restarted (its pub/sub keeps nothing): the instance resubscribes and, since it may
    have missed purges from other instances, drops its cached responses."""
    with private_redis() as redis:
        url = f"redis://127.0.0.1:{redis.port}/0"
        async with instances(make_settings, 1, redis_url=url) as [(app, client)]:
            runtime = app.state.runtime
            await _until(lambda: runtime.broadcast.connected.is_set())
            editor = await make_caller(app, client, "editor")
            product = await make_product(client, editor)
            path = f"{PRODUCTS}/{product['id']}"
            await client.get(path)
            key = (path, b"", True)  # httpx accepts gzip
            assert runtime.response_cache.get(key) is not None
            redis.restart()
            await _until(lambda: runtime.response_cache.get(key) is None)
