"""Broadcasts kept while Redis is down go out in order, and none is lost to a race."""

import asyncio
from typing import Any

from redis.exceptions import ConnectionError as RedisConnectionError

from agora.platform.broadcast import Broadcast


class FakeRedis:
    """Publishes into a list; fails while `down`; can run a hook during a publish."""

    def __init__(self) -> None:
        self.down = False
        self.sent: list[bytes] = []
        self.during: Any = None

    async def publish(self, channel: str, payload: bytes) -> int:
        if self.down:
            raise RedisConnectionError("down")
        if self.during is not None:
            hook, self.during = self.during, None
            await hook()
        self.sent.append(payload)
        return 1


async def test_messages_kept_while_down_go_out_in_order_without_duplicates() -> None:
    redis = FakeRedis()
    broadcast = Broadcast(redis, "t:")  # type: ignore[arg-type]
    redis.down = True
    for n in (1, 2, 1, 3):
        await broadcast.publish("c", {"n": n})
    assert broadcast.pending == 3  # the second {"n": 1} is the same message
    redis.down = False
    await broadcast.flush()
    assert [payload.count(b'"n":') for payload in redis.sent] == [1, 1, 1]
    assert [payload[-3:-2] for payload in redis.sent] == [b"2", b"1", b"3"]
    assert broadcast.pending == 0
    await broadcast.close()


async def test_a_message_kept_again_while_it_is_being_sent_is_sent_again() -> None:
    redis = FakeRedis()
    broadcast = Broadcast(redis, "t:")  # type: ignore[arg-type]
    redis.down = True
    await broadcast.publish("c", {"n": 1})
    redis.down = False

    async def the_same_write_again() -> None:
        broadcast._keep("c", next(iter(broadcast_payloads)))

    broadcast_payloads = [key[1] for key in broadcast._pending]
    redis.during = the_same_write_again
    await broadcast.flush()
    assert len(redis.sent) == 2 and broadcast.pending == 0
    await broadcast.close()


async def test_one_failed_publish_goes_out_by_itself() -> None:
    """Too few failures to open the Redis breaker (so no recovery runs), and no later publish:
    the kept message is still sent, in the background."""
    redis = FakeRedis()
    broadcast = Broadcast(redis, "t:")  # type: ignore[arg-type]
    try:
        redis.down = True
        await broadcast.publish("c", {"n": 1})
        redis.down = False
        for _ in range(100):
            if redis.sent:
                break
            await asyncio.sleep(0.02)
        assert len(redis.sent) == 1 and broadcast.pending == 0
    finally:
        await broadcast.close()


async def test_a_publisher_never_waits_for_what_is_kept() -> None:
    redis = FakeRedis()
    broadcast = Broadcast(redis, "t:")  # type: ignore[arg-type]
    try:
        redis.down = True
        await broadcast.publish("c", {"n": 1})
        redis.down = False
        redis.during = asyncio.Event().wait  # the next publish to Redis hangs
        await asyncio.wait_for(broadcast.publish("c", {"n": 2}), timeout=1)  # kept, not sent
        assert broadcast.pending == 2
    finally:
        await broadcast.close()
