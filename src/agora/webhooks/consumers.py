"""The fan-out: each event owed to every endpoint subscribed to its type, exactly once.

It consumes every event (`#`) and, in one transaction, records the event as handled (the inbox)
and queues a delivery per matching endpoint; a repeat of the event (at-least-once delivery
from the broker) finds the inbox row and queues nothing.
"""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from agora.platform.broker import Delivery, Subscription
from agora.platform.clock import Clock
from agora.platform.db import Database
from agora.platform.inbox import first_time
from agora.webhooks.models import WebhookDelivery, WebhookEndpoint

CONSUMER = "webhooks"


def payload_of(event_type: str, timestamp: str, data: dict[str, object]) -> dict[str, object]:
    """What a receiver gets (the Standard Webhooks shape)."""
    return {"type": event_type, "timestamp": timestamp, "data": data}


def wire_time(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def subscribed(events: list[str], event_type: str) -> bool:
    return "*" in events or event_type in events


class FanOut:
    def __init__(
        self, database: Database, clock: Clock, window: timedelta, wake: Callable[[], None]
    ) -> None:
        self.database = database
        self.clock = clock
        self.window = window
        self.wake = wake

    def subscription(self) -> Subscription:
        return Subscription(CONSUMER, ("#",), self)

    async def __call__(self, event: Delivery) -> None:
        queued = 0
        async with self.database.unit_of_work() as uow:
            session = uow.session
            if await first_time(session, CONSUMER, event.id):
                now = self.clock.now()
                payload = payload_of(event.type, wire_time(event.occurred_at), event.payload)
                endpoints = (
                    await session.execute(
                        select(WebhookEndpoint.id, WebhookEndpoint.events).where(
                            WebhookEndpoint.enabled.is_(True)
                        )
                    )
                ).all()
                for endpoint_id, events in endpoints:
                    if subscribed(events, event.type):
                        session.add(
                            WebhookDelivery(
                                endpoint_id=endpoint_id,
                                message_id=str(event.id),
                                event_id=event.id,
                                event_type=event.type,
                                payload=payload,
                                next_attempt_at=now,
                                retry_until=now + self.window,
                            )
                        )
                        queued += 1
            await uow.commit()
        if queued:
            self.wake()
