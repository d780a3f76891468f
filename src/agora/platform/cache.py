"""Cache-aside storage: in process by default, Redis when configured.

A cache is an optimisation, never a dependency: every failure is logged and answered as a miss
(reads) or ignored (writes), so the caller falls back to the database. A delete that fails is
remembered and sent again in the background (retried with backoff, and at once when the Redis
breaker closes); until it is sent, reads of its keys here are misses. Other instances may read
such an entry until then. The deletes owed are kept in memory (the newest 50,000 keys): if this
process stops before Redis answers, the entries' TTL is what remains.
"""

import asyncio
import itertools
import time
from collections import OrderedDict
from collections.abc import Iterable
from typing import Protocol

from redis.asyncio import Redis
from redis.exceptions import RedisError

from agora.platform.observability import get_logger
from agora.platform.resend import Resender

log = get_logger("agora.cache")


class Cache(Protocol):
    async def get(self, key: str) -> bytes | None: ...

    async def set(self, key: str, value: bytes, ttl: float) -> None: ...

    async def delete(self, *keys: str) -> None: ...

    async def close(self) -> None: ...


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

    async def close(self) -> None:
        self._entries.clear()


MAX_UNPURGED = 50_000


class RedisCache:
    """Shared by every instance; an unreachable Redis degrades to misses, never to errors."""

    def __init__(self, redis: Redis, prefix: str) -> None:
        self._redis = redis
        self._prefix = prefix + "cache:"
        self._unpurged: OrderedDict[str, None] = OrderedDict()
        self._flushing = asyncio.Lock()
        self._resender = Resender(self._flush_all, name="agora-cache-resend")

    async def get(self, key: str) -> bytes | None:
        if key in self._unpurged:
            return None  # its delete is still owed to Redis: what it holds may be stale
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
            self._owe(keys)
            log.warning("cache_invalidation_deferred", keys=list(keys), error=str(exc)[:200])
        except asyncio.CancelledError:
            self._owe(keys)  # perhaps deleted already: deleting again is harmless
            raise

    async def flush(self) -> None:
        """Send the deletes that failed (run by the Redis breaker's recovery)."""
        await self._flush_all()

    async def close(self) -> None:
        await self._resender.close()

    def _owe(self, keys: Iterable[str]) -> None:
        for key in keys:
            self._unpurged[key] = None
            self._unpurged.move_to_end(key)
        while len(self._unpurged) > MAX_UNPURGED:
            self._unpurged.popitem(last=False)
        self._resender.wake()

    async def _flush_all(self) -> bool:
        async with self._flushing:
            while self._unpurged:
                # Taken out before sending: a delete of the same key that fails meanwhile is
                # owed again, not forgotten with this batch.
                batch = list(itertools.islice(self._unpurged, 500))
                for key in batch:
                    del self._unpurged[key]
                try:
                    await self._redis.delete(*(self._prefix + key for key in batch))
                except BaseException as exc:
                    self._owe(key for key in batch if key not in self._unpurged)
                    if not isinstance(exc, RedisError | OSError):
                        raise
                    log.warning("cache_invalidation_still_deferred", error=str(exc)[:200])
                    return False
                log.info("cache_invalidations_sent", keys=len(batch))
            return True
