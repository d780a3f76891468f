"""The Redis client, when `AGORA_REDIS_URL` is set (Agora works without one, in process), and
the circuit breaker that keeps a hung Redis from costing requests anything (ADR 15).

Everything Agora asks of Redis (cache, rate limits, broadcasts) is optional work with an
in-process fallback, so a Redis that stops answering must cost no more than noticing it. The
breaker sits in the connection layer, below every user of the client:

- each command's outcome is reported to it; after `threshold` failures in a row (timeouts,
  refused or reset connections) it opens;
- while open, taking a connection fails at once with `redis.exceptions.ConnectionError`, which
  every user already treats as "Redis is down": the request takes its fallback at no cost;
- a background task probes Redis with PING on a fresh connection every `probe_every` seconds;
  the first answer closes the breaker and runs the `on_recovery` hooks (which resend what
  could not be sent meanwhile: cache purges, broadcasts).

No request is ever the trial call of a half-open breaker.
"""

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.connection import AbstractConnection, Connection, parse_url
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from agora.platform.observability import get_logger
from agora.settings import Settings

log = get_logger("agora.redis")

_FAILURES = (RedisConnectionError, RedisTimeoutError, TimeoutError, OSError)

RecoveryHook = Callable[[], Awaitable[None]]


class RedisBreaker:
    """Open after `threshold` consecutive failures; closed again by a background probe."""

    def __init__(self, threshold: int, probe_every: float, probe_timeout: float) -> None:
        self.threshold = threshold
        self.probe_every = probe_every
        self.probe_timeout = probe_timeout
        self.failures = 0
        self.is_open = False
        self.connection_class: type[AbstractConnection] = Connection
        self.connection_kwargs: dict[str, Any] = {}
        """How the probe connects: the pool's class and settings, without the guard."""
        self._probing: asyncio.Task[None] | None = None
        self._hooks: list[RecoveryHook] = []
        self._closing = False

    def on_recovery(self, hook: RecoveryHook) -> None:
        """Run `hook` each time Redis answers again after the breaker opened."""
        self._hooks.append(hook)

    def check(self) -> None:
        if self.is_open:
            raise RedisConnectionError("Redis is not answering (circuit open)")

    def succeeded(self) -> None:
        self.failures = 0

    def failed(self, error: BaseException) -> None:
        self.failures += 1
        if self.is_open or self.failures < self.threshold:
            return
        self.is_open = True
        log.warning(
            "redis_circuit_opened",
            failures=self.failures,
            error_type=type(error).__name__,
            probe_every_seconds=self.probe_every,
        )
        if not self._closing and (self._probing is None or self._probing.done()):
            self._probing = asyncio.get_running_loop().create_task(self._probe())

    async def _probe(self) -> None:
        # The hooks talk to Redis through the breaker: if their failures open it again, the loop
        # goes on probing (a failure cannot start another probe while this one runs).
        while self.is_open:
            await asyncio.sleep(self.probe_every)
            if not await self._answers():
                continue
            self.is_open = False
            self.failures = 0
            log.info("redis_circuit_closed")
            for hook in self._hooks:
                try:
                    await hook()
                except Exception:
                    log.exception("redis_recovery_hook_failed")

    async def _answers(self) -> bool:
        connection = self.connection_class(**self.connection_kwargs)
        try:
            async with asyncio.timeout(self.probe_timeout):
                await connection.connect()  # type: ignore[no-untyped-call]
                await connection.send_command("PING")
                await connection.read_response()
        except Exception as error:  # refused, timed out, or an error reply (e.g. NOAUTH)
            log.debug("redis_probe_failed", error_type=type(error).__name__)
            return False
        finally:
            with contextlib.suppress(Exception):
                await connection.disconnect(nowait=True)
        return True

    async def close(self) -> None:
        self._closing = True
        if self._probing is not None:
            self._probing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._probing


class _Guard:
    """Mixed into the connection class the URL chose (plain, TLS or Unix socket): it reports to,
    and is refused by, its pool's breaker."""

    breaker: RedisBreaker
    unguarded: type[AbstractConnection]

    async def connect(self) -> None:
        self.breaker.check()
        try:
            await super().connect()  # type: ignore[misc]
        except _FAILURES as error:
            self.breaker.failed(error)
            raise

    async def read_response(self, *args: Any, **kwargs: Any) -> Any:
        try:
            response = await super().read_response(*args, **kwargs)  # type: ignore[misc]
        except _FAILURES as error:
            self.breaker.failed(error)
            raise
        self.breaker.succeeded()
        return response


class _GuardedPool(BlockingConnectionPool):
    breaker: RedisBreaker

    async def get_connection(self, *args: Any, **kwargs: Any) -> Any:
        # Refuse before waiting for a free connection: when Redis hangs, all of them are busy.
        self.breaker.check()
        return await super().get_connection(*args, **kwargs)  # type: ignore[no-untyped-call]


def create_redis(settings: Settings, breaker: RedisBreaker) -> Redis | None:
    """A pooled client with short timeouts and no retries, guarded by `breaker`.

    The pool blocks (up to the timeout) when every connection is busy: the default pool
    raises "Too many connections" at once, which under a burst read as Redis being down.
    """
    if not settings.redis_url:
        return None
    options: dict[str, Any] = dict(parse_url(settings.redis_url))  # TLS, Unix socket...
    plain: type[AbstractConnection] = options.pop("connection_class", Connection)
    guarded = type(
        f"Guarded{plain.__name__}", (_Guard, plain), {"breaker": breaker, "unguarded": plain}
    )
    pool = _GuardedPool(
        connection_class=guarded,
        max_connections=settings.redis_max_connections,
        timeout=settings.redis_timeout,
        socket_connect_timeout=settings.redis_timeout,
        socket_timeout=settings.redis_timeout,
        health_check_interval=30,
        **options,
    )
    pool.breaker = breaker
    breaker.connection_class = plain
    breaker.connection_kwargs = {**pool.connection_kwargs, "health_check_interval": 0}
    return Redis.from_pool(pool)  # the client owns the pool: aclose() closes its connections


def unguarded(redis: Redis) -> type[AbstractConnection]:
    """The connection class of `redis`'s pool without the breaker (for a subscription, which
    waits for messages indefinitely: waiting is not failing)."""
    connection_class: type[AbstractConnection] = redis.connection_pool.connection_class
    return getattr(connection_class, "unguarded", connection_class)


def breaker_from(settings: Settings) -> RedisBreaker:
    return RedisBreaker(
        threshold=settings.redis_breaker_threshold,
        probe_every=settings.redis_probe_seconds,
        probe_timeout=settings.redis_timeout,
    )
