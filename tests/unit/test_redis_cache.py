"""Deletes the shared cache could not send are owed, sent in the background, and never lost."""

import asyncio
from typing import Any

from redis.exceptions import TimeoutError as RedisTimeoutError

from agora.platform.cache import RedisCache


class FakeRedis:
    """Keys in a dict; every command fails while `down`; can run a hook during a delete."""

    def __init__(self) -> None:
        self.down = False
        self.data: dict[str, bytes] = {}
        self.during: Any = None

    def _check(self) -> None:
        if self.down:
            raise RedisTimeoutError("timed out")

    async def get(self, key: str) -> bytes | None:
        self._check()
        return self.data.get(key)

    async def set(self, key: str, value: bytes, px: int) -> None:
        self._check()
        self.data[key] = value

    async def delete(self, *keys: str) -> int:
        self._check()
        deleted = sum(self.data.pop(key, None) is not None for key in keys)
        if self.during is not None:  # before the answer reaches the client
            hook, self.during = self.during, None
            await hook()
        return deleted


async def _eventually(condition: Any) -> None:
    for _ in range(100):
        if condition():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("not within 2 s")


async def test_one_failed_delete_is_sent_by_itself_and_misses_only_its_key() -> None:
    """Too few failures to open the Redis breaker (so no recovery runs), and no later write."""
    redis = FakeRedis()
    cache = RedisCache(redis, "t:")  # type: ignore[arg-type]
    try:
        await cache.set("a", b"old a", 60)
        await cache.set("b", b"b", 60)
        redis.down = True
        await cache.delete("a")  # the write changed a; Redis did not hear of it
        redis.down = False
        assert await cache.get("a") is None  # owed a delete: not served stale
        assert await cache.get("b") == b"b"  # other keys are served as usual
        await _eventually(lambda: "t:cache:a" not in redis.data)
        await cache.set("a", b"new a", 60)
        assert await cache.get("a") == b"new a"
    finally:
        await cache.close()


async def test_a_delete_that_fails_while_a_flush_sends_the_same_key_is_owed_again() -> None:
    redis = FakeRedis()
    cache = RedisCache(redis, "t:")  # type: ignore[arg-type]
    try:
        redis.down = True
        await cache.delete("a")
        redis.down = False

        async def meanwhile() -> None:
            redis.data["t:cache:a"] = b"old"  # another instance fills a from an old read
            redis.down = True
            await cache.delete("a")  # and a new write of a cannot purge it
            redis.down = False

        redis.during = meanwhile
        await cache.flush()
        assert await cache.get("a") is None  # the second delete is still owed
        await _eventually(lambda: "t:cache:a" not in redis.data)
    finally:
        await cache.close()
