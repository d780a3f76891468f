"""Cache-aside storage: in process by default, Redis when configured.

A cache is an optimisation, never a dependency: every failure is logged and answered as a miss
(reads) or ignored (writes), so the caller falls back to the database. A delete that fails is
remembered and sent again when Redis answers (`RedisCache.flush`, run by the Redis breaker's
recovery), and until it is sent every read here is a miss. Other instances may read such an
entry until then (one probe interval after Redis answers again). The deletes owed are kept in
memory: if this process stops before Redis answers, the entries' TTL is what remains.
"""

import asyncio
import time
from collections import OrderedDict
from typing import Protocol

from redis.asyncio import Redis
from redis.exceptions import RedisError

from agora.platform.observability import get_logger

log = get_logger("agora.cache")


class Cache(Protocol):
    async def get(self, key: str) -> bytes | None: ...

    async def set(self, key: str, value: bytes, ttl: float) -> None: ...

    async def delete(self, *keys: str) -> None: ...


class MemoryCache:
    """A bounded LRU with per-entry expiry, for one process."""

    def __init__(self, max_entries: int = 50_000) -> None:
        self._entries: OrderedDict[str, tuple[float, bytes]] = OrderedDict()
        self._max = max_entries

    async def get(self, key: str) -> bytes | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        expires, value = entry
        if expires < time.monotonic():
            self._entries.pop(key, None)
            return None
        self._entries.move_to_end(key)
        return value

    async def set(self, key: str, value: bytes, ttl: float) -> None:
        self._entries[key] = (time.monotonic() + ttl, value)
        self._entries.move_to_end(key)
        while len(self._entries) > self._max:
            self._entries.popitem(last=False)

    async def delete(self, *keys: str) -> None:
        for key in keys:
            self._entries.pop(key, None)


MAX_UNPURGED = 50_000


class RedisCache:
    """Shared by every instance; an unreachable Redis degrades to misses, never to errors."""

    def __init__(self, redis: Redis, prefix: str) -> None:
        self._redis = redis
        self._prefix = prefix + "cache:"
        self._unpurged: OrderedDict[str, None] = OrderedDict()
        self._flushing = asyncio.Lock()

    async def get(self, key: str) -> bytes | None:
        if self._unpurged:
            return None  # deletes are still owed to Redis: what it holds may be stale
        try:
            value = await self._redis.get(self._prefix + key)
        except (RedisError, OSError) as exc:
            log.warning("cache_get_failed", key=key, error=str(exc)[:200])
            return None
        return value.encode() if isinstance(value, str) else value

    async def set(self, key: str, value: bytes, ttl: float) -> None:
        try:
            await self._redis.set(self._prefix + key, value, px=int(ttl * 1000))
        except (RedisError, OSError) as exc:
            log.warning("cache_set_failed", key=key, error=str(exc)[:200])

    async def delete(self, *keys: str) -> None:
        if not keys:
            return
        try:
            await self._redis.delete(*(self._prefix + key for key in keys))
        except (RedisError, OSError) as exc:
            for key in keys:
                self._unpurged[key] = None
            while len(self._unpurged) > MAX_UNPURGED:
                self._unpurged.popitem(last=False)
            log.warning("cache_invalidation_deferred", keys=list(keys), error=str(exc)[:200])
            return
        if self._unpurged:
            await self.flush()

    async def flush(self) -> None:
        """Send the deletes that failed while Redis was down (one flush at a time)."""
        if self._flushing.locked():
            return  # the running flush sends them
        async with self._flushing:
            while self._unpurged:
                batch = list(self._unpurged)[:500]
                try:
                    await self._redis.delete(*(self._prefix + key for key in batch))
                except (RedisError, OSError) as exc:
                    log.warning("cache_invalidation_still_deferred", error=str(exc)[:200])
                    return
                for key in batch:
                    self._unpurged.pop(key, None)
                log.info("cache_invalidations_sent", keys=len(batch))
