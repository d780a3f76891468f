"""Rate limits: sliding-window counters, shared by every instance through Redis.

Two ways to count, both the sliding-window-counter algorithm of the `limits` library:

- **Synced** (request limits): every instance decides in process, on the counts it last read
  from Redis plus its own hits since, and every `AGORA_RATE_LIMIT_SYNC_MS` adds its hits to
  Redis and reads back everyone else's, in one pipelined round trip. A busy caller costs one
  round trip per interval instead of one per request (two per request took the bench's cached
  read from 0.40x to 0.12x of the baseline). A caller whose counts are older than two intervals
  (seen here for the first time, or idle here while other instances counted it) is re-read
  before deciding; a busy caller is kept fresh by the background sync. The price: an instance
  learns of the others' hits at its next sync, so a caller bursting across several instances
  within one interval can get past its limit by what they admitted in it (at most the limit once
  per instance). Kong's `sync_rate` makes the same trade. Without Redis the counters simply stay
  in process.
- **Exact** (sign-in and `/auth` limits, where every attempt counts): each hit is a round trip
  to Redis through `limits`' Redis storage.

If Redis stops answering, requests keep being served: counting continues in process, the
limiter logs the switch and tries Redis again after `retry_after` seconds. `limits`' own
in-memory storage was measured first and not used: its expiry timer thread (restarted every
10 ms while requests flow) cost ~20 µs per request under load (docs/performance.md).
"""

import asyncio
import contextlib
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from limits import RateLimitItem, WindowStats, parse
from limits.aio.storage import RedisStorage
from limits.aio.strategies import SlidingWindowCounterRateLimiter
from limits.errors import StorageError
from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
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


_Key = tuple[str, int, int]  # (limits' key for the caller, amount, period in seconds)


@dataclass(slots=True)
class _Window:
    number: int  # index of the current fixed window: time // period
    current: float  # hits in it, every instance's as far as known here
    previous: float  # hits in the window before
    unsent: int = 0  # this instance's hits in `number` not yet added in Redis
    fresh_until: float = 0.0  # monotonic time until which the counts are taken as current


class Windows:
    """Sliding-window counters decided in process, optionally synced through Redis.

    A key keeps the count of the current fixed window and of the previous one; a hit is allowed
    while `previous * (share of the previous window still inside the sliding window) + current`
    stays below the limit. One event loop, so no locks. Windows idle for two periods are swept.

    With Redis, `sync()` runs every `interval` seconds while there are hits: one pipeline adds
    this instance's hits and reads everyone's for each caller seen since the last sync. Counts
    decide a hit only if younger than two intervals: otherwise (a caller new or idle here)
    `hit_if_fresh()` declines and the limiter `refresh()`es them first (one round trip, shared
    by every hit that arrives meanwhile). A busy caller's hits never wait for Redis: the
    background sync keeps its counts current.
    """

    _SWEEP_EVERY = 10_000

    def __init__(
        self,
        redis: Redis | None = None,
        prefix: str = "",
        interval: float = 0.1,
        on_sync_error: Callable[[Exception], None] | None = None,
    ) -> None:
        self._redis = redis
        self._prefix = f"{prefix}ratelimit:synced:"
        self._interval = interval
        self._on_sync_error = on_sync_error
        self._windows: dict[_Key, _Window] = {}
        self._touched: set[_Key] = set()
        self._refreshing: dict[_Key, asyncio.Future[None]] = {}
        self._late: dict[tuple[_Key, int], int] = {}  # hits of a window that ended unsent
        self._timer: asyncio.TimerHandle | None = None
        self._task: asyncio.Task[None] | None = None
        self._paused_until = 0.0
        self._closed = False
        self._hits = 0

    def hit(self, item: RateLimitItem, *identifiers: str) -> RateDecision:
        """Count one hit and decide, on the counts known here."""
        now = time.time()
        key, window = self._window(item, identifiers, now)
        left_of_window, weighted = self._weigh(window, key[2], now)
        return self._count(item, key, window, now, left_of_window, weighted)

    def hit_if_fresh(self, item: RateLimitItem, *identifiers: str) -> RateDecision | None:
        """Like `hit`, unless Redis must be asked first (`refresh()`): then None, nothing counted.

        That is for a caller whose counts are older than two intervals: never read here, or idle
        while other instances may have counted it. A busy caller is kept fresh by the
        background sync and never waits. Never while Redis is down.
        """
        now = time.time()
        key, window = self._window(item, identifiers, now)
        left_of_window, weighted = self._weigh(window, key[2], now)
        monotonic = time.monotonic()
        if self._redis is not None and window.fresh_until <= monotonic >= self._paused_until:
            return None
        return self._count(item, key, window, now, left_of_window, weighted)

    @staticmethod
    def _weigh(window: _Window, period: int, now: float) -> tuple[float, float]:
        """(seconds left in the current window, hits inside the sliding window)."""
        left_of_window = period - (now - window.number * period)
        return left_of_window, window.previous * left_of_window / period + window.current

    def _count(
        self,
        item: RateLimitItem,
        key: _Key,
        window: _Window,
        now: float,
        left_of_window: float,
        weighted: float,
    ) -> RateDecision:
        allowed = weighted + 1 <= item.amount
        if allowed:
            window.current += 1
            weighted += 1
        if self._redis is not None:
            if allowed:
                window.unsent += 1
            self._touched.add(key)
            if self._timer is None:
                self._schedule()
        self._hits += 1
        if self._hits % self._SWEEP_EVERY == 0:
            self._sweep(now)
        return RateDecision(
            allowed,
            item.amount,
            max(0, item.amount - math.floor(weighted)),
            max(0 if allowed else 1, math.ceil(left_of_window)),
        )

    async def refresh(self, item: RateLimitItem, *identifiers: str) -> None:
        """Exchange one caller's counts with Redis now; hits arriving meanwhile share the trip."""
        if self._redis is None:
            return
        key, _ = self._window(item, identifiers, time.time())
        pending = self._refreshing.get(key)
        if pending is None:
            pending = self._refreshing[key] = asyncio.ensure_future(self._refresh(key))
            pending.add_done_callback(lambda _: self._refreshing.pop(key, None))
        await asyncio.shield(pending)

    async def _refresh(self, key: _Key) -> None:
        window = self._windows.get(key)
        if self._redis is None or window is None:
            return
        number, sent = window.number, window.unsent
        window.unsent = 0
        pipe = self._redis.pipeline(transaction=False)
        self._add(pipe, key, number, sent)
        pipe.get(self._name(key, number - 1))
        # A failed exchange is not retried: Redis may have applied it (see `sync`).
        current, _, previous = await pipe.execute()
        self._apply(window, number, current, previous)

    def clear(self, item: RateLimitItem, *identifiers: str) -> None:
        self._windows.pop((item.key_for(*identifiers), item.amount, item.get_expiry()), None)

    async def close(self) -> None:
        """Send what is still unsent (best effort: Redis may already be gone)."""
        self._closed = True  # no timer is scheduled after this
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._task is not None:
            with contextlib.suppress(Exception):
                await self._task
        if self._redis is not None and (self._touched or self._late):
            with contextlib.suppress(*_SHARED_FAILURES):
                await self.sync()

    async def sync(self) -> None:
        """Add this instance's unsent hits in Redis and read everyone's, in one round trip."""
        if self._redis is None:
            return
        touched, self._touched = self._touched, set()
        late, self._late = self._late, {}
        pipe = self._redis.pipeline(transaction=False)
        for (key, number), count in late.items():
            self._add(pipe, key, number, count)
        plan: list[tuple[_Key, _Window, int, int]] = []
        for key in touched:
            window = self._windows.get(key)
            if window is None:
                continue
            self._add(pipe, key, window.number, window.unsent)  # INCRBY 0 just reads
            pipe.get(self._name(key, window.number - 1))
            plan.append((key, window, window.number, window.unsent))
            window.unsent = 0
        # If the exchange fails, its hits are not sent again: the pipeline is not atomic, and
        # a timeout after Redis applied it would count them twice, refusing callers everywhere.
        # They stay counted in this instance; the others miss them (as while Redis is down).
        # Nothing is kept for a retry either, so an outage does not grow memory or pipelines.
        results = await pipe.execute()
        replies = iter(results[2 * len(late) :])
        for _, window, number, _ in plan:
            current, _, previous = next(replies), next(replies), next(replies)
            self._apply(window, number, current, previous)

    def pause(self, seconds: float) -> None:
        """Stop talking to Redis for a while (it is down); counting goes on in process."""
        self._paused_until = time.monotonic() + seconds

    def _window(
        self, item: RateLimitItem, identifiers: tuple[str, ...], now: float
    ) -> tuple[_Key, _Window]:
        period = item.get_expiry()
        number = int(now // period)
        key = (item.key_for(*identifiers), item.amount, period)
        window = self._windows.get(key)
        if window is None:
            window = self._windows[key] = _Window(number, 0.0, 0.0)
        elif window.number != number:
            if window.unsent:
                self._late[key, window.number] = window.unsent
            window.previous = window.current if window.number == number - 1 else 0.0
            window.number, window.current, window.unsent = number, 0.0, 0
        return key, window

    def _apply(self, window: _Window, number: int, current: bytes, previous: bytes | None) -> None:
        if window.number != number:
            return  # the window rolled while Redis answered; the next exchange catches up
        # Counts only grow within a window: never forget hits this instance has not sent yet.
        window.current = max(window.current, float(current) + window.unsent)
        window.previous = max(window.previous, float(previous or 0))
        # Two intervals: the background sync (one per interval) renews busy callers in time.
        window.fresh_until = time.monotonic() + 2 * self._interval

    def _add(self, pipe: Pipeline, key: _Key, number: int, count: int) -> None:
        name = self._name(key, number)
        pipe.incrby(name, count)
        pipe.expire(name, 2 * key[2] + 1)

    def _name(self, key: _Key, number: int) -> str:
        return f"{self._prefix}{key[0]}:{number}"

    def _schedule(self) -> None:
        if self._closed:
            return
        delay = max(self._interval, self._paused_until - time.monotonic())
        self._timer = asyncio.get_running_loop().call_later(delay, self._start_sync)

    def _start_sync(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._sync_in_background())

    async def _sync_in_background(self) -> None:
        try:
            await self.sync()
        except _SHARED_FAILURES as exc:
            if self._on_sync_error is not None:
                self._on_sync_error(exc)
        finally:
            self._task = None
            self._timer = None
            if self._touched or self._late:
                self._schedule()

    def _sweep(self, now: float) -> None:
        stale = [
            key
            for key, window in self._windows.items()
            if window.number < now // key[2] - 1 and not window.unsent
        ]
        for key in stale:
            del self._windows[key]
        for key, number in [late for late in self._late if late[1] < now // late[0][2] - 1]:
            del self._late[key, number]  # its window is out of every sliding window by now


class RateLimiter:
    def __init__(
        self,
        redis: Redis | None,
        prefix: str,
        *,
        sync_interval: float = 0.1,
        retry_after: float = 5.0,
    ) -> None:
        synced = redis is not None and sync_interval > 0
        self._windows = Windows(
            redis if synced else None, prefix, sync_interval, on_sync_error=self._shared_failed
        )
        self._exact: SlidingWindowCounterRateLimiter | None = None
        self._synced = synced
        if redis is not None:
            storage = RedisStorage(
                "async+redis://",
                implementation="redispy",
                connection_pool=redis.connection_pool,  # type: ignore[arg-type]  # passed through
                key_prefix=f"{prefix}ratelimit",
            )
            self._exact = SlidingWindowCounterRateLimiter(storage)
        self._retry_after = retry_after
        self._shared_down_until = 0.0

    @property
    def shared(self) -> bool:
        """True while limits are enforced across instances (through Redis)."""
        return self._exact is not None and time.monotonic() >= self._shared_down_until

    async def hit(
        self, item: RateLimitItem, *identifiers: str, exact: bool = False
    ) -> RateDecision:
        """Count one request against `item` for `identifiers`, and say whether it may pass.

        `exact=True` checks Redis on this very hit (for limits where every attempt counts);
        otherwise instances share counts up to one sync interval late.
        """
        if (exact or not self._synced) and self._exact is not None and self.shared:
            try:
                return await self._hit(self._exact, item, identifiers)
            except _SHARED_FAILURES as exc:
                self._shared_failed(exc)
        decision = self._windows.hit_if_fresh(item, *identifiers)
        if decision is not None:
            return decision
        try:
            await self._windows.refresh(item, *identifiers)
        except _SHARED_FAILURES as exc:
            self._shared_failed(exc)
        return self._windows.hit(item, *identifiers)

    async def reset(self, item: RateLimitItem, *identifiers: str) -> None:
        """Forget the count (a successful login clears its failures, say)."""
        self._windows.clear(item, *identifiers)
        if self.shared and self._exact is not None:
            with contextlib.suppress(*_SHARED_FAILURES):
                await self._exact.clear(item, *identifiers)

    async def sync(self) -> None:
        """Send this instance's counts to Redis now (tests; shutdown)."""
        if self._synced:
            await self._windows.sync()

    async def close(self) -> None:
        await self._windows.close()

    def _shared_failed(self, exc: Exception) -> None:
        if time.monotonic() < self._shared_down_until:
            return
        self._shared_down_until = time.monotonic() + self._retry_after
        self._windows.pause(self._retry_after)
        log.warning(
            "rate_limit_fallback_to_local",
            error_type=type(exc).__name__,
            error=str(exc)[:200],
            retry_in_seconds=self._retry_after,
        )

    @staticmethod
    async def _hit(
        limiter: SlidingWindowCounterRateLimiter, item: RateLimitItem, identifiers: tuple[str, ...]
    ) -> RateDecision:
        allowed = await limiter.hit(item, *identifiers)
        return _decision(allowed, item, await limiter.get_window_stats(item, *identifiers))


def _decision(allowed: bool, item: RateLimitItem, stats: WindowStats) -> RateDecision:
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
