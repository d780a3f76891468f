"""Rate limits: sliding-window counters from the `limits` library.

With Redis configured the counters live there, so every instance enforces one shared limit.
If Redis stops answering, requests keep being served: the limiter falls back to in-process
counters, logs the switch, and tries Redis again after `retry_after` seconds.
"""

import contextlib
import math
import time
from dataclasses import dataclass

from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage, RedisStorage
from limits.aio.strategies import SlidingWindowCounterRateLimiter
from limits.errors import StorageError
from redis.asyncio import Redis
from redis.exceptions import RedisError

from agora.platform.observability import get_logger
from agora.settings import Settings

log = get_logger("agora.ratelimit")

_SHARED_FAILURES = (RedisError, OSError, StorageError, TimeoutError)


@dataclass(frozen=True, slots=True)
class RateDecision:
    allowed: bool
    limit: int
    remaining: int
    reset_after: int
    """Seconds until the window has room again."""

    def headers(self) -> list[tuple[bytes, bytes]]:
        return [
            (b"x-ratelimit-limit", str(self.limit).encode()),
            (b"x-ratelimit-remaining", str(self.remaining).encode()),
            (b"x-ratelimit-reset", str(self.reset_after).encode()),
        ]


class RateLimiter:
    def __init__(self, redis: Redis | None, prefix: str, retry_after: float = 5.0) -> None:
        self._local = SlidingWindowCounterRateLimiter(MemoryStorage())
        self._shared: SlidingWindowCounterRateLimiter | None = None
        if redis is not None:
            storage = RedisStorage(
                "async+redis://",
                implementation="redispy",
                connection_pool=redis.connection_pool,  # type: ignore[arg-type]  # passed through
                key_prefix=f"{prefix}ratelimit",
            )
            self._shared = SlidingWindowCounterRateLimiter(storage)
        self._retry_after = retry_after
        self._shared_down_until = 0.0

    @property
    def shared(self) -> bool:
        """True while limits are enforced in Redis (shared by all instances)."""
        return self._shared is not None and time.monotonic() >= self._shared_down_until

    async def hit(self, item: RateLimitItem, *identifiers: str) -> RateDecision:
        """Count one request against `item` for `identifiers`, and say whether it may pass."""
        if self._shared is not None and time.monotonic() >= self._shared_down_until:
            try:
                return await self._hit(self._shared, item, identifiers)
            except _SHARED_FAILURES as exc:
                self._shared_down_until = time.monotonic() + self._retry_after
                log.warning(
                    "rate_limit_fallback_to_local",
                    error_type=type(exc).__name__,
                    error=str(exc)[:200],
                    retry_in_seconds=self._retry_after,
                )
        return await self._hit(self._local, item, identifiers)

    async def reset(self, item: RateLimitItem, *identifiers: str) -> None:
        """Forget the count (a successful login clears its failures, say)."""
        await self._local.clear(item, *identifiers)
        if self.shared and self._shared is not None:
            with contextlib.suppress(*_SHARED_FAILURES):
                await self._shared.clear(item, *identifiers)

    @staticmethod
    async def _hit(
        limiter: SlidingWindowCounterRateLimiter, item: RateLimitItem, identifiers: tuple[str, ...]
    ) -> RateDecision:
        allowed = await limiter.hit(item, *identifiers)
        stats = await limiter.get_window_stats(item, *identifiers)
        reset_after = max(0, math.ceil(stats.reset_time - time.time()))
        if not allowed:
            reset_after = max(1, reset_after)
        return RateDecision(allowed, item.amount, stats.remaining, reset_after)


@dataclass(frozen=True)
class RatePolicy:
    """Which limit applies to a request."""

    anonymous: RateLimitItem
    authenticated: RateLimitItem
    auth: RateLimitItem
    login: RateLimitItem

    @classmethod
    def from_settings(cls, settings: Settings) -> "RatePolicy":
        return cls(
            anonymous=parse(settings.rate_limit_anonymous),
            authenticated=parse(settings.rate_limit_authenticated),
            auth=parse(settings.rate_limit_auth),
            login=parse(settings.rate_limit_login),
        )

    def for_request(self, path: str, authenticated: bool) -> tuple[str, RateLimitItem]:
        """The (namespace, limit) for a path: `/auth/*` is stricter and always per client IP."""
        if "/auth/" in path and path.startswith("/api/"):
            return "auth", self.auth
        return ("user", self.authenticated) if authenticated else ("anonymous", self.anonymous)
