"""Rate limits: sliding-window counters, shared by every instance by leasing budget from Redis.

The algorithm is the sliding-window counter (as in the `limits` library, whose notation the
settings use): a hit is allowed while `previous * (share of the previous fixed window still
inside the sliding window) + current` stays below the limit.

- **Without Redis** (or while it is down) each instance counts in process (`Windows`). A caller
  spread over N instances then gets up to N times its limit.
- **With Redis** an instance does not ask Redis about every hit: it **leases** a share of the
  caller's budget (`AGORA_RATE_LIMIT_LEASE`, 5% of the limit by default) in one atomic script
  call, and spends it in process with no round trip. Redis grants only what is left under the
  limit, counting every lease as spent, so instances together never admit more than the limit:
  the overshoot is zero, whatever the concurrency (a hit that finds the lease spent waits for the
  next one, shared by every hit that arrives meanwhile). The price is the other way round: a
  lease an instance has not spent yet is refused to the others, so a caller bursting across N
  instances may be refused up to N leases early (5% of the limit each); at the end of a window
  an instance gives back what it did not spend. A busy caller with a high limit costs one
  round trip per lease, not per request. Sign-in limits lease one hit at a time (exact).

ADR 16 has the measurements; ADR 13 (counts synced every 100 ms) let a burst across two
instances through at twice the limit.
"""

import asyncio
import functools
import math
import time
from dataclasses import dataclass, field

from limits import RateLimitItem, parse
from redis.asyncio import Redis
from redis.exceptions import RedisError

from agora.platform.observability import get_logger
from agora.settings import Settings

log = get_logger("agora.ratelimit")

_SHARED_FAILURES = (RedisError, OSError, TimeoutError)

# KEYS: the caller's current and previous fixed windows. ARGV: the limit, the hits wanted, the
# share of the previous window still inside the sliding window, the key TTL, and hits leased in
# the previous window but not spent (given back first). Returns {granted, current, previous}.
_LEASE = """
local give_back = tonumber(ARGV[5])
if give_back > 0 then
  local before = tonumber(redis.call('GET', KEYS[2]) or '0')
  if before > 0 then redis.call('DECRBY', KEYS[2], math.min(give_back, before)) end
end
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
local previous = tonumber(redis.call('GET', KEYS[2]) or '0')
local room = math.floor(tonumber(ARGV[1]) - previous * tonumber(ARGV[3]) - current)
local granted = math.min(tonumber(ARGV[2]), math.max(0, room))
if granted > 0 then
  current = redis.call('INCRBY', KEYS[1], granted)
  redis.call('EXPIRE', KEYS[1], tonumber(ARGV[4]))
end
return {granted, current, previous}
"""


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
_SWEEP_EVERY = 10_000  # hits between sweeps of windows and leases idle for two periods


@dataclass(slots=True)
class _Window:
    number: int  # index of the current fixed window: time // period
    current: float  # hits in it
    previous: float  # hits in the window before


def _slide(period: int, now: float, number: int) -> tuple[float, float]:
    """(seconds left in fixed window `number`, share of the previous window still counted)."""
    left = period - (now - number * period)
    return left, left / period


class Windows:
    """Sliding-window counters of one process. One event loop, so no locks; windows idle for
    two periods are swept."""

    def __init__(self) -> None:
        self._windows: dict[_Key, _Window] = {}
        self._hits = 0

    def hit(self, item: RateLimitItem, *identifiers: str) -> RateDecision:
        """Count one hit and decide."""
        now = time.time()
        key = _key(item, identifiers)
        period = key[2]
        number = int(now // period)
        window = self._windows.get(key)
        if window is None:
            window = self._windows[key] = _Window(number, 0.0, 0.0)
        elif window.number != number:
            window.previous = window.current if window.number == number - 1 else 0.0
            window.number, window.current = number, 0.0
        left, share = _slide(period, now, number)
        weighted = window.previous * share + window.current
        allowed = weighted + 1 <= item.amount
        if allowed:
            window.current += 1
            weighted += 1
        self._hits += 1
        if self._hits % _SWEEP_EVERY == 0:
            self._sweep(now)
        return RateDecision(
            allowed,
            item.amount,
            max(0, item.amount - math.floor(weighted)),
            max(0 if allowed else 1, math.ceil(left)),
        )

    def _sweep(self, now: float) -> None:
        stale = [key for key, w in self._windows.items() if w.number < now // key[2] - 1]
        for key in stale:
            del self._windows[key]


@dataclass(slots=True)
class _Lease:
    number: int  # the fixed window the budget was leased in
    budget: int = 0  # hits leased and not spent yet
    unspent_before: int = 0  # budget left over from the previous window, to give back
    current: int = 0  # the caller's hits in the window, as Redis last said (leases included)
    previous: int = 0
    full_until: float = 0.0  # no room before this time (epoch seconds): refuse without asking
    leasing: asyncio.Future[int] | None = field(default=None)


class Leases:
    """Budget leased from Redis per caller and limit, spent in process."""

    def __init__(self, redis: Redis, prefix: str, fraction: float) -> None:
        self._redis = redis
        self._prefix = f"{prefix}ratelimit:lease:"
        self._fraction = fraction
        self._script = redis.register_script(_LEASE)
        self._leases: dict[_Key, _Lease] = {}
        self._hits = 0

    async def hit(
        self, item: RateLimitItem, identifiers: tuple[str, ...], exact: bool
    ) -> RateDecision:
        key = _key(item, identifiers)
        size = 1 if exact else max(1, math.ceil(item.amount * self._fraction))
        self._hits += 1
        if self._hits % _SWEEP_EVERY == 0:
            self._sweep(time.time())
        while True:
            now = time.time()
            lease = self._lease(key, now)
            if lease.budget > 0:
                lease.budget -= 1
                return self._decision(item, lease, now, allowed=True)
            if now < lease.full_until:
                return self._decision(item, lease, now, allowed=False)
            number = lease.number
            if exact:
                granted = await self._take(key, lease, size, now)
            else:
                # Hits arriving while a lease is on its way wait for it: one round trip.
                if lease.leasing is None:
                    lease.leasing = asyncio.ensure_future(self._take(key, lease, size, now))
                    lease.leasing.add_done_callback(functools.partial(_done, lease))
                granted = await asyncio.shield(lease.leasing)
            if lease.number != number:
                continue  # the window rolled while Redis answered: ask about the new one
            if not granted:
                return self._decision(item, lease, now, allowed=False)
            # Granted: spend it on the next turn (other waiters may have spent it: lease again).

    def _lease(self, key: _Key, now: float) -> _Lease:
        number = int(now // key[2])
        lease = self._leases.get(key)
        if lease is None:
            lease = self._leases[key] = _Lease(number)
        elif lease.number != number:
            unspent = lease.budget if lease.number == number - 1 else 0
            lease.number, lease.budget, lease.unspent_before = number, 0, unspent
            lease.current, lease.previous, lease.full_until = 0, lease.current, 0.0
        return lease

    async def _take(self, key: _Key, lease: _Lease, size: int, now: float) -> int:
        """Lease up to `size` hits from Redis into `lease`; how many were granted."""
        amount, period = key[1], key[2]
        number = lease.number
        _, share = _slide(period, now, number)
        # Taken before the round trip: concurrent exact hits must not give the same back twice.
        give_back, lease.unspent_before = lease.unspent_before, 0
        try:
            granted, current, previous = await self._script(
                keys=[self._name(key, number), self._name(key, number - 1)],
                args=[amount, size, share, 2 * period + 1, give_back],
            )
        except BaseException:
            if lease.number == number:
                lease.unspent_before += give_back  # a failed call gave nothing back
            raise
        granted = int(granted)
        if lease.number != number:
            # The window rolled while Redis answered: that budget is the old window's.
            if lease.number == number + 1:
                lease.unspent_before += granted
            return granted
        lease.budget += granted
        lease.current, lease.previous = int(current), int(previous)
        if granted < size:
            lease.full_until = _room_at(amount, period, number, int(current), int(previous))
        return granted

    def _decision(
        self, item: RateLimitItem, lease: _Lease, now: float, *, allowed: bool
    ) -> RateDecision:
        period = item.get_expiry()
        left, share = _slide(period, now, lease.number)
        weighted = lease.previous * share + lease.current - lease.budget
        remaining = max(0, math.floor(item.amount - weighted))
        reset_after = math.ceil(left) if allowed else max(1, math.ceil(lease.full_until - now))
        return RateDecision(allowed, item.amount, remaining, max(0, reset_after))

    def _name(self, key: _Key, number: int) -> str:
        return f"{self._prefix}{key[0]}:{number}"

    def _sweep(self, now: float) -> None:
        stale = [
            key
            for key, lease in self._leases.items()
            if lease.number < now // key[2] - 1 and lease.leasing is None
        ]
        for key in stale:
            del self._leases[key]


def _done(lease: _Lease, _: object) -> None:
    lease.leasing = None


def _room_at(amount: int, period: int, number: int, current: int, previous: int) -> float:
    """When the sliding window next has room for one hit (epoch seconds)."""
    end = (number + 1) * period
    if current + 1 > amount or previous == 0:
        return end  # only the next window brings room
    # previous * left / period + current <= amount - 1  <=>  left <= (amount - 1 - current) ...
    left = (amount - 1 - current) * period / previous
    return max(end - period, end - left)


@functools.lru_cache(maxsize=16_384)
def _key(item: RateLimitItem, identifiers: tuple[str, ...]) -> _Key:
    """Memoized: `limits` builds the key string anew each time, which cost as much as the
    rest of a cached read's rate-limit check (docs/performance.md)."""
    return (item.key_for(*identifiers), item.amount, item.get_expiry())


class RateLimiter:
    def __init__(self, redis: Redis | None, prefix: str, *, lease_fraction: float = 0.05) -> None:
        self._windows = Windows()
        self._leases = Leases(redis, prefix, lease_fraction) if redis is not None else None
        self._shared_failing = False

    async def hit(
        self, item: RateLimitItem, *identifiers: str, exact: bool = False
    ) -> RateDecision:
        """Count one request against `item` for `identifiers`, and say whether it may pass.

        `exact=True` (sign-in attempts) leases one hit at a time: every attempt is decided by
        Redis. Without Redis, or while it fails, this instance decides alone.
        """
        local = self._windows.hit(item, *identifiers)  # kept current for when Redis fails
        if self._leases is None:
            return local
        try:
            decision = await self._leases.hit(item, identifiers, exact)
        except _SHARED_FAILURES as exc:
            self._failing(exc)
            return local
        if self._shared_failing:
            self._shared_failing = False
            log.info("rate_limit_shared_again")
        return decision

    def _failing(self, exc: Exception) -> None:
        if not self._shared_failing:
            self._shared_failing = True
            log.warning(
                "rate_limit_fallback_to_local",
                error_type=type(exc).__name__,
                error=str(exc)[:200],
            )


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

    def for_request(self, *, strict: bool, authenticated: bool) -> tuple[str, RateLimitItem]:
        """The (namespace, limit) of a request: strict paths (sign-in) are always per client IP."""
        if strict:
            return "auth", self.auth
        return ("user", self.authenticated) if authenticated else ("anonymous", self.anonymous)
