"""Small messages to every Agora instance: revocations, cache invalidations.

Handlers run in the publishing instance at once (so a single instance needs nothing else) and,
with Redis configured, in every other instance through Redis pub/sub. Redis pub/sub keeps
nothing, so the two ways a message could be lost are each covered here:

- a message this instance could not publish (Redis down, or its circuit open) is kept, in
  order and without duplicates, and published in the background when Redis answers again
  (`flush`, retried with backoff and run by the Redis breaker's recovery); a publisher never
  waits for what is kept;
- when this instance's subscription had to reconnect, it may have missed messages from others:
  the `on_resync` handlers run (they drop what they cached from such messages).

Whoever relies on a message also has a slower, durable path (the database, TTLs) for the rest.
"""

import asyncio
import contextlib
import os
from collections import OrderedDict, defaultdict
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from redis.asyncio import ConnectionPool, Redis
from redis.exceptions import RedisError

from agora.platform.observability import get_logger
from agora.platform.redis import unguarded
from agora.platform.resend import Resender

Handler = Callable[[dict[str, Any]], Awaitable[None]]
Resync = Callable[[], Awaitable[None]]

log = get_logger("agora.broadcast")

MAX_PENDING = 10_000
"""Unsent messages kept while Redis is down; past that the oldest go (TTLs bound the damage)."""


class Broadcast:
    def __init__(self, redis: Redis | None, prefix: str) -> None:
        self._redis = redis
        self._prefix = prefix + "broadcast:"
        self._handlers: defaultdict[str, list[Handler]] = defaultdict(list)
        self._resyncs: list[Resync] = []
        self._origin = os.urandom(8).hex()
        self._task: asyncio.Task[None] | None = None
        self._pending: OrderedDict[tuple[str, bytes], None] = OrderedDict()
        self._flushing = asyncio.Lock()
        self._resender = Resender(self._flush_all, name="agora-broadcast-resend")
        self.connected = asyncio.Event()

    def subscribe(self, channel: str, handler: Handler) -> None:
        self._handlers[channel].append(handler)

    def on_resync(self, handler: Resync) -> None:
        """Run `handler` when messages from other instances may have been missed."""
        self._resyncs.append(handler)

    @property
    def pending(self) -> int:
        """Messages waiting for Redis to answer again."""
        return len(self._pending)

    async def publish(self, channel: str, message: dict[str, Any]) -> None:
        await self._deliver(channel, message)
        if self._redis is None:
            return
        payload = orjson.dumps({"origin": self._origin, "message": message})
        if self._pending or self._flushing.locked():  # keep the order: what waits goes first
            self._keep(channel, payload)
            return
        try:
            await self._redis.publish(self._prefix + channel, payload)
        except (RedisError, OSError) as exc:
            self._keep(channel, payload)
            log.warning("broadcast_deferred", channel=channel, error=str(exc)[:200])
        except asyncio.CancelledError:
            self._keep(channel, payload)  # perhaps sent already: a repeat is harmless, a loss not
            raise

    async def flush(self) -> None:
        """Publish what could not be published, oldest first; stop at the first failure."""
        await self._flush_all()

    async def _flush_all(self) -> bool:
        if self._redis is None:
            return True
        async with self._flushing:
            sent = 0
            while self._pending:
                # Taken out before sending: the same message kept again meanwhile (a later
                # write) is then a new entry, sent after this one, not dropped with it.
                (channel, payload), _ = self._pending.popitem(last=False)
                try:
                    await self._redis.publish(self._prefix + channel, payload)
                except BaseException as exc:
                    self._pending[channel, payload] = None
                    self._pending.move_to_end((channel, payload), last=False)
                    self._resender.wake()
                    if not isinstance(exc, RedisError | OSError):
                        raise
                    break
                sent += 1
            if sent:
                log.info("broadcast_flushed", sent=sent, still_pending=len(self._pending))
            return not self._pending

    def _keep(self, channel: str, payload: bytes) -> None:
        self._pending[channel, payload] = None
        self._pending.move_to_end((channel, payload))
        while len(self._pending) > MAX_PENDING:
            self._pending.popitem(last=False)
        self._resender.wake()

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
        await self._resender.close()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _listen(self, redis: Redis) -> None:
        # A subscription waits indefinitely for messages: no socket timeout on its connection,
        # and a plain connection (not the breaker's): waiting is not failing.
        kwargs = dict(redis.connection_pool.connection_kwargs, socket_timeout=None)
        pool = ConnectionPool(connection_class=unguarded(redis), **kwargs)
        listener = Redis(connection_pool=pool)
        delay = 0.5
        subscribed_before = False
        try:
            while True:
                try:
                    pubsub = listener.pubsub(ignore_subscribe_messages=True)
                    async with pubsub:
                        await pubsub.subscribe(*(self._prefix + name for name in self._handlers))
                        self.connected.set()
                        if subscribed_before:
                            await self._resync()
                        subscribed_before = True
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

    async def _resync(self) -> None:
        log.info("broadcast_resync")
        for handler in self._resyncs:
            try:
                await handler()
            except Exception:
                log.exception("broadcast_resync_failed")

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
