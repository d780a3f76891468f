"""Small messages to every Agora instance: revocations, cache invalidations.

Handlers run in the publishing instance at once (so a single instance needs nothing else) and,
with Redis configured, in every other instance through Redis pub/sub. Delivery across instances
is best effort: whoever relies on it also has a slower, durable path (the database) for
messages lost while Redis was unreachable.
"""

import asyncio
import contextlib
import os
from collections import defaultdict
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from redis.asyncio import ConnectionPool, Redis
from redis.exceptions import RedisError

from agora.platform.observability import get_logger

Handler = Callable[[dict[str, Any]], Awaitable[None]]

log = get_logger("agora.broadcast")


class Broadcast:
    def __init__(self, redis: Redis | None, prefix: str) -> None:
        self._redis = redis
        self._prefix = prefix + "broadcast:"
        self._handlers: defaultdict[str, list[Handler]] = defaultdict(list)
        self._origin = os.urandom(8).hex()
        self._task: asyncio.Task[None] | None = None
        self.connected = asyncio.Event()

    def subscribe(self, channel: str, handler: Handler) -> None:
        self._handlers[channel].append(handler)

    async def publish(self, channel: str, message: dict[str, Any]) -> None:
        await self._deliver(channel, message)
        if self._redis is None:
            return
        payload = orjson.dumps({"origin": self._origin, "message": message})
        try:
            await self._redis.publish(self._prefix + channel, payload)
        except (RedisError, OSError) as exc:
            log.warning("broadcast_publish_failed", channel=channel, error=str(exc))

    async def _deliver(self, channel: str, message: dict[str, Any]) -> None:
        for handler in self._handlers.get(channel, ()):
            try:
                await handler(message)
            except Exception:
                log.exception("broadcast_handler_failed", channel=channel)

    async def start(self) -> None:
        if self._redis is not None and self._handlers:
            self._task = asyncio.create_task(self._listen(self._redis), name="agora-broadcast")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _listen(self, redis: Redis) -> None:
        # A subscription waits indefinitely for messages: no socket timeout on its connection.
        kwargs = dict(redis.connection_pool.connection_kwargs, socket_timeout=None)
        pool = ConnectionPool(connection_class=redis.connection_pool.connection_class, **kwargs)
        listener = Redis(connection_pool=pool)
        delay = 0.5
        try:
            while True:
                try:
                    pubsub = listener.pubsub(ignore_subscribe_messages=True)
                    async with pubsub:
                        await pubsub.subscribe(*(self._prefix + name for name in self._handlers))
                        self.connected.set()
                        delay = 0.5
                        async for raw in pubsub.listen():
                            await self._receive(raw)
                except (RedisError, OSError) as exc:
                    self.connected.clear()
                    log.warning("broadcast_listener_reconnecting", error=str(exc), delay=delay)
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, 5.0)
        finally:
            await pool.disconnect()

    async def _receive(self, raw: dict[str, Any]) -> None:
        if raw.get("type") != "message":
            return
        try:
            envelope = orjson.loads(raw["data"])
        except orjson.JSONDecodeError:
            return
        if envelope.get("origin") == self._origin:
            return  # delivered locally when published
        channel = raw["channel"].decode().removeprefix(self._prefix)
        await self._deliver(channel, envelope.get("message") or {})
