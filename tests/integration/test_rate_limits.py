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
        assert (await client.get(JWKS)).status_code == 200


@pytest.mark.needs_redis
async def test_the_limit_is_shared_by_instances_through_redis(
    make_settings: Callable[..., Settings],
) -> None:
    limits = {
        "rate_limit_anonymous": "4/minute",
        "rate_limit_sync_ms": 20,
        "redis_prefix": f"rl-{unique()}:",
    }
    async with instances(make_settings, 2, ip="203.0.113.5", **limits) as [(_, first), (_, second)]:
        statuses = []
        for n in range(6):
            client = first if n % 2 == 0 else second
            statuses.append((await client.get(JWKS)).status_code)
            await asyncio.sleep(0.15)  # several sync intervals: both instances know every hit
        assert statuses == [200, 200, 200, 200, 429, 429]


@pytest.mark.needs_redis
async def test_every_request_is_checked_in_redis_when_sync_is_off(
    make_settings: Callable[..., Settings],
) -> None:
    limits = {
        "rate_limit_anonymous": "4/minute",
        "rate_limit_sync_ms": 0,
        "redis_prefix": f"rl-{unique()}:",
    }
    async with instances(make_settings, 2, ip="203.0.113.7", **limits) as [(_, first), (_, second)]:
        statuses = []
        for n in range(6):  # no pause: exact on every request
            client = first if n % 2 == 0 else second
            statuses.append((await client.get(JWKS)).status_code)
        assert statuses == [200, 200, 200, 200, 429, 429]


@pytest.mark.needs_redis
async def test_a_burst_across_instances_overshoots_by_at_most_one_interval(
    make_settings: Callable[..., Settings],
) -> None:
    """Within one sync interval each instance decides alone; after it, everyone is limited."""
    limits = {
        "rate_limit_anonymous": "5/minute",
        "rate_limit_sync_ms": 50,
        "redis_prefix": f"rl-{unique()}:",
    }
    async with instances(make_settings, 2, ip="203.0.113.8", **limits) as [(_, first), (_, second)]:
        # Three each: under the limit in either instance alone, over it together.
        burst = await asyncio.gather(*(c.get(JWKS) for c in (first, second) for _ in range(3)))
        admitted = sum(response.status_code == 200 for response in burst)
        assert 5 <= admitted <= 6  # the overshoot is what the instances admitted unsynced
        await asyncio.sleep(0.3)  # synced: each now knows the other's hits
        for client in (first, second):
            assert_error(await client.get(JWKS), 429, "rate_limited")


@pytest.mark.needs_redis
async def test_sign_in_limits_are_exact_across_instances(
    make_settings: Callable[..., Settings],
) -> None:
    limits = {
        "rate_limit_login": "2/minute",
        "rate_limit_sync_ms": 60_000,  # request limits would not sync within this test
        "redis_prefix": f"rl-{unique()}:",
    }
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
            await asyncio.sleep(0.3)  # the first sync attempt fails and says so
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


@pytest.mark.needs_redis
async def test_synced_limiters_share_counts_and_ask_redis_near_the_limit() -> None:
    from limits import parse
    from redis.asyncio import Redis

    from agora.platform.ratelimit import RateLimiter, Windows
    from tests.support import backends

    assert backends.REDIS_URL is not None
    redis = Redis.from_url(backends.REDIS_URL)
    limit, prefix, caller = parse("10/minute"), f"rl-{unique()}:", ("anonymous", "ip:1")
    a = RateLimiter(redis, prefix, sync_interval=0.05)
    b = RateLimiter(redis, prefix, sync_interval=0.05)
    quiet = Windows(redis, f"rl-{unique()}:", interval=60)
    try:
        assert all([(await a.hit(limit, *caller)).allowed for _ in range(8)])
        await a.sync()
        # b has never seen the caller: it reads the count before deciding.
        assert [(await b.hit(limit, *caller)).allowed for _ in range(3)] == [True, True, False]
        await asyncio.sleep(0.25)  # a's counts went stale: it asks Redis again
        refused = await a.hit(limit, *caller)
        assert not refused.allowed and refused.remaining == 0

        # Far from a limit, with counts younger than one interval, no round trip is needed.
        assert quiet.hit_if_fresh(limit, *caller) is None  # never read: ask Redis first
        await quiet.refresh(limit, *caller)
        for _ in range(5):
            decision = quiet.hit_if_fresh(limit, *caller)
            assert decision is not None and decision.allowed
    finally:
        for closing in (a.close(), b.close(), quiet.close()):
            await closing
        await redis.aclose()


@pytest.mark.needs_redis
async def test_an_exchange_that_times_out_after_landing_is_not_counted_twice() -> None:
    """Redis applied the hits but the answer never came: sending them again would count them
    twice and refuse callers on every instance."""
    from limits import parse
    from redis.asyncio import Redis

    from agora.platform.ratelimit import Windows
    from tests.support import backends

    assert backends.REDIS_URL is not None
    redis = Redis.from_url(backends.REDIS_URL)

    class LateAnswer:
        """The first exchange lands in Redis, then its reply is lost."""

        def __init__(self) -> None:
            self.failed = False

        def pipeline(self, transaction: bool = True) -> object:
            pipe = redis.pipeline(transaction=transaction)
            real_execute = pipe.execute

            async def execute() -> list[object]:
                replies: list[object] = await real_execute()
                if not self.failed:
                    self.failed = True
                    raise TimeoutError("reply lost")
                return replies

            pipe.execute = execute  # type: ignore[method-assign]
            return pipe

    limit, prefix, caller = parse("100/minute"), f"rl-{unique()}:", ("anonymous", "ip:1")
    windows = Windows(LateAnswer(), prefix, interval=60)  # type: ignore[arg-type]
    try:
        for _ in range(3):
            windows.hit(limit, *caller)
        with pytest.raises(TimeoutError):
            await windows.sync()
        windows.hit(limit, *caller)
        await windows.sync()
        keys = await redis.keys(f"{prefix}*")
        assert len(keys) == 1
        assert int(await redis.get(keys[0])) == 4  # 3 + 1, not 3 + 3 + 1
    finally:
        await windows.close()
        await redis.aclose()
