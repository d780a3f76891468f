"""Login throttling and user enumeration, on apps with real limits and real hashing costs."""

import asyncio
import statistics
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager

from agora.app import create_app
from agora.settings import Settings
from tests.support.assertions import assert_error
from tests.support.auth import PASSWORD, login, register
from tests.support.random_refs import unique


@pytest.fixture
def app_client(make_settings: Callable[..., Settings]) -> Callable[..., Any]:
    """`async with app_client(ip, **settings) as client`: a fresh app, requests from `ip`."""

    class _Client:
        def __init__(self, ip: str = "198.51.100.1", **changes: Any) -> None:
            self.app = create_app(make_settings(**changes))
            self.ip = ip

        async def __aenter__(self) -> httpx.AsyncClient:
            self.lifespan = LifespanManager(self.app)
            await self.lifespan.__aenter__()
            transport = httpx.ASGITransport(app=self.app, client=(self.ip, 4000))
            self.client = httpx.AsyncClient(transport=transport, base_url="http://agora.test")
            return self.client

        async def __aexit__(self, *_: object) -> None:
            await self.client.aclose()
            await self.lifespan.__aexit__(None, None, None)

    return _Client


async def test_unknown_email_takes_as_long_as_a_wrong_password(
    app_client: Callable[..., Any],
) -> None:
    """Both paths verify one argon2 hash of the same cost, so timing reveals nothing."""
    async with app_client(
        password_hash_time_cost=2, password_hash_memory_kib=16384, password_hash_parallelism=1
    ) as client:
        email = f"{unique('timing')}@example.com"
        assert (await register(client, email)).status_code == 201
        await login(
            client, f"{unique('warm')}@example.com", "warming-up-1"
        )  # builds the dummy hash

        async def timed(address: str) -> float:
            started = time.perf_counter()
            response = await login(client, address, "definitely-wrong-9")
            assert response.status_code == 401
            return time.perf_counter() - started

        # Interleaved, so that a change in the machine's load touches both the same way; each
        # side is judged by its median, so a few slow outliers cannot decide.
        wrong, unknown = [], []
        for _ in range(9):
            wrong.append(await timed(email))
            unknown.append(await timed(f"{unique('nobody')}@example.com"))
    ratio = statistics.median(unknown) / statistics.median(wrong)
    assert 0.6 < ratio < 1.6, (wrong, unknown)
    assert statistics.median(unknown) > 0.005  # a real hash was computed


@pytest.mark.slow
async def test_a_thousand_attempts_are_throttled_not_locked_forever(
    app_client: Callable[..., Any],
) -> None:
    limits = {"rate_limit_login": "5/2 seconds", "rate_limit_auth": "100000/minute"}
    async with app_client(ip="203.0.113.50", **limits) as attacker:
        email = f"{unique('victim')}@example.com"
        assert (await register(attacker, email)).status_code == 201
        started = time.monotonic()
        statuses = [
            (await login(attacker, email, f"guess-{n}-xx")).status_code for n in range(1000)
        ]
        elapsed = time.monotonic() - started
        assert statuses[:5] == [401] * 5
        assert statuses[5] == 429
        assert set(statuses) == {401, 429}
        # At most 5 password checks per 2 s window got through; the rest never reached argon2.
        assert statuses.count(401) <= 5 * (elapsed / 2 + 2), (statuses.count(401), elapsed)
        throttled = await login(attacker, email)
        body = assert_error(throttled, 429, "too_many_login_attempts")
        assert int(throttled.headers["retry-after"]) >= 1
        assert "try again" in body["message"]

    async with app_client(ip="192.0.2.77", **limits) as someone_else:
        other = f"{unique('bystander')}@example.com"
        assert (await register(someone_else, other)).status_code == 201
        assert (await login(someone_else, other)).status_code == 200

    await asyncio.sleep(2.1)  # the window passes: the account is usable again
    async with app_client(ip="192.0.2.78", **limits) as owner:
        assert (await login(owner, email, PASSWORD)).status_code == 200
