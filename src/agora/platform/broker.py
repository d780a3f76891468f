"""Where committed events go: the in-process bus by default, RabbitMQ in production.

The relay (`agora.platform.outbox`) hands the broker outbox rows as `Delivery` values, in order;
`publish` returns once the broker holds them all, and only then are the rows marked published.
Consumers subscribe by event type (`order.created`, or a pattern: `order.*`, `#` for all) and
are called with each delivery at least once; they make their effects happen once with the
inbox (`agora.platform.inbox`).

- `InProcessBroker` (default, no servers): `publish` calls each matching subscription before it
  returns, so an event is marked published only after every consumer handled it; a process that
  dies meanwhile publishes it again after it restarts.
- `RabbitBroker` (`AGORA_BROKER_URL=amqp://...`, aio-pika): a durable topic exchange, persistent
  messages confirmed by the broker, and per subscription one durable queue with a single active
  consumer (so one subject's events are handled in order even with several workers); a message
  is acknowledged after its handler returned, and a failed one is retried in place; connections
  that drop are opened again, with backoff.
"""

import asyncio
import contextlib
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import orjson

from agora.platform.observability import get_logger

log = get_logger("agora.broker")


@dataclass(frozen=True, slots=True)
class Delivery:
    """One event as the broker carries it."""

    id: uuid.UUID
    type: str
    version: int
    subject_type: str
    subject_id: str
    payload: dict[str, Any]
    occurred_at: datetime
    request_id: str | None = None

    def encode(self) -> bytes:
        return orjson.dumps(
            {
                "id": str(self.id),
                "type": self.type,
                "version": self.version,
                "subjectType": self.subject_type,
                "subjectId": self.subject_id,
                "payload": self.payload,
                "occurredAt": self.occurred_at.isoformat(),
                "requestId": self.request_id,
            }
        )

    @classmethod
    def decode(cls, body: bytes) -> "Delivery":
        raw = orjson.loads(body)
        return cls(
            id=uuid.UUID(raw["id"]),
            type=raw["type"],
            version=raw["version"],
            subject_type=raw["subjectType"],
            subject_id=raw["subjectId"],
            payload=raw["payload"],
            occurred_at=datetime.fromisoformat(raw["occurredAt"]),
            request_id=raw.get("requestId"),
        )


def stop_if_cancelled(error: Exception) -> None:
    """Re-raise a cancellation that a client library turned into another error (aiormq turns
    one that lands while it connects into a connection error), so that a loop that retries on
    errors still stops when it is told to."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError from error


Handler = Callable[[Delivery], Awaitable[None]]

CLOSE_SECONDS = 2.0
"""How long closing the broker waits for its consumers to stop."""


@dataclass(frozen=True)
class Subscription:
    """A consumer: its name (its queue), the event types it takes, and what it does."""

    name: str
    patterns: tuple[str, ...]
    handle: Handler

    def wants(self, event_type: str) -> bool:
        return any(_matches(pattern, event_type) for pattern in self.patterns)


def _matches(pattern: str, event_type: str) -> bool:
    """AMQP topic matching for Agora's two-word types: `*` is one word, `#` any number."""
    if pattern == "#":
        return True
    wanted, words = pattern.split("."), event_type.split(".")
    return len(wanted) == len(words) and all(
        w in ("*", word) for w, word in zip(wanted, words, strict=True)
    )


class Broker(Protocol):
    async def start(self, subscriptions: Sequence[Subscription]) -> None:
        """Deliver to `subscriptions` from now on; returns at once (a broker that is away is
        retried in the background)."""

    async def publish(self, deliveries: Sequence[Delivery]) -> None:
        """Return once the broker holds every delivery, or raise."""

    async def ping(self) -> None:
        """Raise when the broker cannot be reached (readiness)."""

    async def close(self) -> None: ...


class InProcessBroker:
    def __init__(self) -> None:
        self.subscriptions: list[Subscription] = []

    async def start(self, subscriptions: Sequence[Subscription]) -> None:
        self.subscriptions = list(subscriptions)

    async def publish(self, deliveries: Sequence[Delivery]) -> None:
        for delivery in deliveries:
            for subscription in self.subscriptions:
                if subscription.wants(delivery.type):
                    await subscription.handle(delivery)

    async def ping(self) -> None:
        return None

    async def close(self) -> None:
        self.subscriptions = []


class RabbitBroker:
    """RabbitMQ through aio-pika, with plain connections it re-opens itself: the publisher's on
    the next publish after a failure, each consumer's in its own loop, backing off while the
    broker is away (so nothing waits on a dead socket and nothing is left unclosed)."""

    def __init__(
        self,
        url: str,
        *,
        prefix: str = "agora",
        prefetch: int = 32,
        retry_delay: float = 1.0,
        publish_timeout: float = 10.0,
    ) -> None:
        self.url = url
        self.prefix = prefix
        self.prefetch = prefetch
        self.retry_delay = retry_delay
        self.publish_timeout = publish_timeout
        self._connection: Any = None
        self._exchange: Any = None
        self._lock = asyncio.Lock()
        self._consumers: list[asyncio.Task[None]] = []
        self._subscriptions: list[Subscription] = []

    async def _open(self) -> tuple[Any, Any]:
        """A new connection, and the exchange declared on a confirming channel."""
        import aio_pika  # imported only where a broker is configured

        connection = await aio_pika.connect(self.url, timeout=5)
        try:
            channel = await connection.channel(publisher_confirms=True)
            exchange = await channel.declare_exchange(
                f"{self.prefix}.events", aio_pika.ExchangeType.TOPIC, durable=True
            )
            # The consumers' queues exist before anything is published: RabbitMQ drops what
            # reaches an exchange with no queue bound, and a consumer may not have connected yet.
            for subscription in self._subscriptions:
                await self._queue(channel, exchange, subscription)
        except BaseException:
            await connection.close()
            raise
        return connection, exchange

    async def _queue(self, channel: Any, exchange: Any, subscription: Subscription) -> Any:
        queue = await channel.declare_queue(
            f"{self.prefix}.{subscription.name}",
            durable=True,
            arguments={"x-single-active-consumer": True},
        )
        for pattern in subscription.patterns:
            await queue.bind(exchange, routing_key=pattern)
        return queue

    async def _publisher(self) -> Any:
        async with self._lock:
            if self._exchange is None or self._connection.is_closed:
                await self._drop()
                self._connection, self._exchange = await self._open()
            return self._exchange

    async def _drop(self) -> None:
        connection, self._connection, self._exchange = self._connection, None, None
        if connection is not None:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(CLOSE_SECONDS):  # a broker that does not answer
                    await connection.close()

    async def start(self, subscriptions: Sequence[Subscription]) -> None:
        self._subscriptions = list(subscriptions)
        for subscription in subscriptions:
            self._consumers.append(
                asyncio.create_task(
                    self._consume(subscription), name=f"agora-consumer-{subscription.name}"
                )
            )

    async def _consume(self, subscription: Subscription) -> None:
        """Consume until cancelled, reconnecting (with backoff) whenever the broker goes away."""
        failures = 0
        while True:
            try:
                connection, exchange = await self._open()
                try:
                    channel = await connection.channel()
                    await channel.set_qos(prefetch_count=self.prefetch)
                    queue = await self._queue(channel, exchange, subscription)
                    await self._handle_in_order(queue, subscription)
                finally:
                    with contextlib.suppress(Exception):
                        await connection.close()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                stop_if_cancelled(exc)
                failures += 1
                log.warning(
                    "consumer_disconnected",
                    consumer=subscription.name,
                    error_type=type(exc).__name__,
                )
                await asyncio.sleep(min(5.0, 0.2 * 2**failures))

    async def _handle_in_order(self, queue: Any, subscription: Subscription) -> None:
        """One message at a time, in queue order; a failed one is retried in place (backing off
        up to 30 s) so that a subject's later events never overtake it. Unacknowledged messages
        of a consumer that dies go back to the queue, in order, for the next one."""
        async with queue.iterator() as messages:
            async for message in messages:
                try:
                    delivery = Delivery.decode(message.body)
                except (ValueError, KeyError, TypeError):
                    # Not an Agora event: no retry can help; dropped, and said so.
                    log.error("undecodable_message", consumer=subscription.name)
                    await message.reject(requeue=False)
                    continue
                failures = 0
                while True:
                    try:
                        await subscription.handle(delivery)
                        break
                    except Exception as exc:
                        stop_if_cancelled(exc)
                        failures += 1
                        log.exception(
                            "consumer_failed", consumer=subscription.name, event_id=str(delivery.id)
                        )
                        await asyncio.sleep(min(30.0, self.retry_delay * 2 ** (failures - 1)))
                await message.ack()

    async def publish(self, deliveries: Sequence[Delivery]) -> None:
        import aio_pika

        exchange = await self._publisher()
        try:
            # One at a time, each confirmed (on disk) before the next: the outbox's order.
            for delivery in deliveries:
                async with asyncio.timeout(self.publish_timeout):
                    await exchange.publish(
                        aio_pika.Message(
                            delivery.encode(),
                            message_id=str(delivery.id),
                            type=delivery.type,
                            content_type="application/json",
                            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                        ),
                        routing_key=delivery.type,
                    )
        except BaseException:
            await self._drop()  # the next publish opens a new connection
            raise

    async def ping(self) -> None:
        await self._publisher()

    async def close(self) -> None:
        for task in self._consumers:
            task.cancel()
        if self._consumers:
            # A consumer cancelled while it connects may sit in the client's connect timeout;
            # shutting down does not wait for that (its connection is dropped with the process).
            _, stuck = await asyncio.wait(self._consumers, timeout=CLOSE_SECONDS)
            if stuck:
                log.warning("consumers_not_stopped", count=len(stuck))
        self._consumers.clear()
        await self._drop()
