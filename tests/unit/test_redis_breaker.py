"""The Redis circuit breaker's rules, and that it guards whatever connection the URL asks for."""

import asyncio

import pytest
from redis.asyncio.connection import Connection, SSLConnection, UnixDomainSocketConnection
from redis.exceptions import ConnectionError as RedisConnectionError

from agora.platform.redis import RedisBreaker, create_redis, unguarded
from agora.settings import Settings


@pytest.mark.parametrize(
    ("url", "plain"),
    [
        ("redis://127.0.0.1:6379/0", Connection),
        ("rediss://cache.example:6380/0", SSLConnection),
        ("unix:///run/redis.sock?db=0", UnixDomainSocketConnection),
    ],
)
def test_every_kind_of_connection_is_guarded(url: str, plain: type) -> None:
    breaker = RedisBreaker(threshold=3, probe_every=1, probe_timeout=0.5)
    redis = create_redis(Settings(_env_file=None, redis_url=url), breaker)
    assert redis is not None
    guarded = redis.connection_pool.connection_class
    assert issubclass(guarded, plain) and guarded is not plain
    assert unguarded(redis) is plain  # what a subscription and the probe connect with
    assert breaker.connection_class is plain


async def test_it_opens_after_failures_in_a_row_and_refuses_at_once() -> None:
    breaker = RedisBreaker(threshold=3, probe_every=60, probe_timeout=0.5)
    try:
        breaker.failed(TimeoutError())
        breaker.failed(TimeoutError())
        breaker.succeeded()  # an answer in between: not in a row
        breaker.failed(TimeoutError())
        breaker.failed(TimeoutError())
        breaker.check()  # still closed: two in a row
        breaker.failed(TimeoutError())
        assert breaker.is_open
        with pytest.raises(RedisConnectionError):
            breaker.check()
    finally:
        await breaker.close()


class _Answering:
    """A connection to a Redis that answers PING."""

    def __init__(self, **_: object) -> None:
        pass

    async def connect(self) -> None:
        pass

    async def send_command(self, *_: object) -> None:
        pass

    async def read_response(self) -> bytes:
        return b"PONG"

    async def disconnect(self, nowait: bool = False) -> None:
        pass


async def test_failures_during_recovery_open_it_again_and_the_probe_goes_on() -> None:
    breaker = RedisBreaker(threshold=2, probe_every=0.01, probe_timeout=0.5)
    breaker.connection_class = _Answering  # type: ignore[assignment]
    recoveries = 0

    async def hook() -> None:  # the first recovery's resend meets a Redis that fails again
        nonlocal recoveries
        recoveries += 1
        if recoveries == 1:
            breaker.failed(TimeoutError())
            breaker.failed(TimeoutError())
            assert breaker.is_open

    breaker.on_recovery(hook)
    try:
        breaker.failed(TimeoutError())
        breaker.failed(TimeoutError())
        for _ in range(200):
            if recoveries == 2:
                break
            await asyncio.sleep(0.01)
        assert recoveries == 2 and not breaker.is_open
    finally:
        await breaker.close()
