"""Rate limits: per IP, per user or key, stricter on /auth, shared through Redis, resilient."""

import asyncio
import io
from collections.abc import Callable

import httpx
import orjson
import pytest

from agora.platform.observability import configure_logging
from agora.settings import Settings
from tests.support.assertions import assert_error
from tests.support.auth import make_caller, register
from tests.support.instances import instances
from tests.support.random_refs import unique

JWKS = "/.well-known/jwks.json"


async def test_headers_on_every_response(client: httpx.AsyncClient) -> None:
    for path in (JWKS, "/api/v1/nothing-here", "/docs"):
        response = await client.get(path)
        assert int(response.headers["x-ratelimit-limit"]) == 100000
        assert 0 <= int(response.headers["x-ratelimit-remaining"]) < 100000
        assert int(response.headers["x-ratelimit-reset"]) >= 0
    assert "x-ratelimit-limit" not in (await client.get("/health")).headers  # probes are exempt


async def test_anonymous_limit_per_ip_then_429(make_settings: Callable[..., Settings]) -> None:
    prefix = f"rl-{unique()}:"
    async with instances(
        make_settings, 1, ip="203.0.113.1", rate_limit_anonymous="3/minute", redis_prefix=prefix
    ) as [(_, client)]:
        statuses = [(await client.get(JWKS)).status_code for _ in range(3)]
        assert statuses == [200, 200, 200]
        limited = await client.get(JWKS)
        body = assert_error(limited, 429, "rate_limited")
        assert int(limited.headers["retry-after"]) >= 1
        assert limited.headers["x-ratelimit-remaining"] == "0"
        assert "3 per 1 minute" in body["message"]
    async with instances(
        make_settings, 1, ip="203.0.113.2", rate_limit_anonymous="3/minute", redis_prefix=prefix
    ) as [(_, other_ip)]:
        assert (await other_ip.get(JWKS)).status_code == 200


async def test_authenticated_callers_have_their_own_budget(
    make_settings: Callable[..., Settings],
) -> None:
    limits = {
        "rate_limit_anonymous": "2/minute",
        "rate_limit_authenticated": "50/minute",
        "redis_prefix": f"rl-{unique()}:",
    }
    async with instances(make_settings, 1, ip="203.0.113.3", **limits) as [(app, client)]:
        user = await make_caller(app, client)  # register + login: /auth, its own limit
        assert (await client.get(JWKS)).status_code == 200
        assert (await client.get(JWKS)).status_code == 200
        assert (await client.get(JWKS)).status_code == 429  # the IP is spent
        signed_in = await client.get(JWKS, headers=user.headers)
        assert signed_in.status_code == 200  # the user is not
        assert signed_in.headers["x-ratelimit-limit"] == "50"


async def test_auth_routes_are_stricter(make_settings: Callable[..., Settings]) -> None:
    limits = {
        "rate_limit_auth": "2/minute",
        "rate_limit_anonymous": "100/minute",
        "redis_prefix": f"rl-{unique()}:",
    }
    async with instances(make_settings, 1, ip="203.0.113.4", **limits) as [(_, client)]:
        assert (await register(client)).status_code == 201
        assert (await register(client)).status_code == 201
        assert_error(await register(client), 429, "rate_limited")
        # Unversioned paths are the same routes, under the same strict limit.
        unversioned = await client.post("/api/auth/login", json={"email": "a@b.example"})
        assert_error(unversioned, 429, "rate_limited")
        assert (await client.get(JWKS)).status_code == 200


@pytest.mark.needs_redis
async def test_the_limit_is_shared_by_instances_through_redis(
    make_settings: Callable[..., Settings],
) -> None:
    limits = {"rate_limit_anonymous": "4/minute", "redis_prefix": f"rl-{unique()}:"}
    async with instances(make_settings, 2, ip="203.0.113.5", **limits) as [(_, first), (_, second)]:
        statuses = []
        for n in range(6):
            client = first if n % 2 == 0 else second
            statuses.append((await client.get(JWKS)).status_code)
        assert statuses == [200, 200, 200, 200, 429, 429]


@pytest.mark.needs_redis
async def test_sign_in_limits_are_exact_across_instances(
    make_settings: Callable[..., Settings],
) -> None:
    limits = {"rate_limit_login": "2/minute", "redis_prefix": f"rl-{unique()}:"}
    async with instances(make_settings, 2, ip="203.0.113.9", **limits) as [(_, first), (_, second)]:
        attempt = {"email": f"nobody-{unique()}@example.com", "password": "not-the-password-1"}
        statuses = []
        for n in range(3):
            client = first if n % 2 == 0 else second
            statuses.append((await client.post("/api/v1/auth/login", json=attempt)).status_code)
        assert statuses == [401, 401, 429]


async def test_requests_are_served_when_redis_is_down(
    make_settings: Callable[..., Settings],
) -> None:
    sink = io.BytesIO()
    async with instances(
        make_settings,
        1,
        ip="203.0.113.6",
        redis_url="redis://127.0.0.1:1/0",
        rate_limit_anonymous="3/minute",
    ) as [(_, client)]:
        configure_logging("warning", "json", stream=sink)
        try:
            statuses = [(await client.get(JWKS)).status_code for _ in range(4)]
        finally:
            configure_logging("warning", "json")
    assert statuses == [200, 200, 200, 429]  # still limited, in process
    events = [orjson.loads(line)["event"] for line in sink.getvalue().splitlines()]
    assert "rate_limit_fallback_to_local" in events


async def test_logout_reaches_other_instances_through_the_database(
    make_settings: Callable[..., Settings],
) -> None:
    """Without Redis, another instance learns of a revocation from its periodic read."""
    async with instances(make_settings, 2, redis_url=None, revocation_poll_seconds=0.1) as pairs:
        (app_a, client_a), (_, client_b) = pairs
        user = await make_caller(app_a, client_a)
        assert (await client_b.get("/api/v1/users/me", headers=user.headers)).status_code == 200
        assert (await client_a.post("/api/v1/auth/logout", headers=user.headers)).status_code == 204
        await asyncio.sleep(0.5)
        assert_error(
            await client_b.get("/api/v1/users/me", headers=user.headers), 401, "invalid_token"
        )


@pytest.mark.needs_redis
async def test_logout_reaches_other_instances_at_once_through_redis(
    make_settings: Callable[..., Settings],
) -> None:
    async with instances(make_settings, 2, revocation_poll_seconds=3600) as pairs:
        (app_a, client_a), (app_b, client_b) = pairs
        await asyncio.wait_for(app_b.state.runtime.broadcast.connected.wait(), 5)
        user = await make_caller(app_a, client_a)
        assert (await client_b.get("/api/v1/users/me", headers=user.headers)).status_code == 200
        assert (await client_a.post("/api/v1/auth/logout", headers=user.headers)).status_code == 204
        for _ in range(50):  # pub/sub delivery takes milliseconds
            if (await client_b.get("/api/v1/users/me", headers=user.headers)).status_code == 401:
                break
            await asyncio.sleep(0.01)
        else:
            raise AssertionError("the other instance still accepts the token")
