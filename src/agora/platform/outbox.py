"""The relay: committed outbox rows go to the broker in order, each marked once it is there.

Any process may run a relay (the web process by default, `agora worker` in production). A lease
row lets one of them publish at a time, so several workers and web instances running together
do not publish side by side, and events leave in the order of their ids (UUIDv7: time-ordered
by the clock of the process that recorded them). A relay that dies, or stalls past its lease,
is replaced after `lease_seconds`; the next one publishes again what it had sent but not yet
marked: delivery is at least once, and consumers must tolerate a repeat.
"""

import asyncio
import os
import socket
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import String, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from agora.platform.broker import Broker, Delivery, stop_if_cancelled
from agora.platform.clock import Clock
from agora.platform.db import Base, Database
from agora.platform.events import EventRecord
from agora.platform.observability import get_logger

log = get_logger("agora.outbox")

_LEASE = "outbox"
CHUNK = 50
"""Events published between two checks of the lease."""
_LONG_AGO = datetime(2000, 1, 1, tzinfo=UTC)


class RelayLease(Base):
    __tablename__ = "relay_leases"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    owner: Mapped[str] = mapped_column(String(200))
    expires_at: Mapped[datetime]


@dataclass(frozen=True)
class OutboxLag:
    """How far the relay is behind: events not yet published, and the oldest one's age."""

    pending: int
    oldest_at: datetime | None
    lag_seconds: float


class Relay:
    def __init__(
        self,
        database: Database,
        broker: Broker,
        clock: Clock,
        *,
        batch: int = 200,
        lease_seconds: float = 10.0,
        idle_seconds: float = 0.1,
        owner: str | None = None,
    ) -> None:
        self.database = database
        self.broker = broker
        self.clock = clock
        self.batch = batch
        self.lease = timedelta(seconds=lease_seconds)
        self.idle_seconds = idle_seconds
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        self.standing_by = False
        """The last round found the lease held by another relay."""

    async def publish_once(self) -> int:
        """One round: if this relay holds the lease, publish the oldest pending events.

        They go out in chunks; the lease is renewed before each, and the round stops (marking
        what went out) as soon as it is lost, so that no two relays publish at the same time
        unless one stalls for longer than the lease between two chunks.
        """
        self.standing_by = False
        if not await self._pending():
            return 0  # (an idle relay only reads: the lease is a write)
        if not await self._hold_lease():
            self.standing_by = True  # another relay publishes
            return 0
        renewed = time.monotonic()
        async with self.database.session() as session:
            rows = (
                await session.scalars(
                    select(EventRecord)
                    .where(EventRecord.published_at.is_(None))
                    .order_by(EventRecord.id)
                    .limit(self.batch)
                )
            ).all()
        sent: list[uuid.UUID] = []
        try:
            for start in range(0, len(rows), CHUNK):
                if time.monotonic() - renewed > self.lease.total_seconds() / 3:
                    if not await self._hold_lease():
                        break  # another relay took over: it publishes the rest
                    renewed = time.monotonic()
                chunk = rows[start : start + CHUNK]
                await self.broker.publish([_delivery(row) for row in chunk])
                sent.extend(row.id for row in chunk)
        finally:
            if sent:
                await self._mark(sent)
        return len(sent)

    async def _mark(self, ids: list[uuid.UUID]) -> None:
        async with self.database.unit_of_work() as uow:
            await uow.session.execute(
                update(EventRecord)
                .where(EventRecord.id.in_(ids))
                .where(EventRecord.published_at.is_(None))
                .values(published_at=self.clock.now())
            )
            await uow.commit()

    async def run(self) -> None:
        """Publish until cancelled; wait `idle_seconds` when there was nothing to publish, a
        third of the lease while another relay holds it, and back off (up to 5 s) while the
        broker or the database fails."""
        failures = 0
        while True:
            try:
                published = await self.publish_once()
                failures = 0
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                stop_if_cancelled(exc)
                failures += 1
                log.warning("relay_failed", error_type=type(exc).__name__, error=str(exc)[:200])
                await asyncio.sleep(min(5.0, 0.2 * 2**failures))
                continue
            if self.standing_by:  # look again when the holder's lease could have run out
                await asyncio.sleep(max(self.idle_seconds, self.lease.total_seconds() / 3))
            elif published < self.batch:
                await asyncio.sleep(self.idle_seconds)

    async def release(self) -> None:
        """Give the lease up (on shutdown), so that another relay takes over at once."""
        async with self.database.unit_of_work() as uow:
            await uow.session.execute(
                update(RelayLease)
                .where(RelayLease.name == _LEASE, RelayLease.owner == self.owner)
                .values(expires_at=_LONG_AGO)
            )
            await uow.commit()

    async def lag(self) -> OutboxLag:
        async with self.database.session() as session:
            pending, oldest = (
                await session.execute(
                    select(func.count(), func.min(EventRecord.occurred_at)).where(
                        EventRecord.published_at.is_(None)
                    )
                )
            ).one()
        age = (self.clock.now() - oldest).total_seconds() if oldest is not None else 0.0
        return OutboxLag(pending=pending, oldest_at=oldest, lag_seconds=max(0.0, age))

    async def _pending(self) -> bool:
        async with self.database.session() as session:
            first = await session.scalar(
                select(EventRecord.id).where(EventRecord.published_at.is_(None)).limit(1)
            )
        return first is not None

    async def _hold_lease(self) -> bool:
        now = self.clock.now()
        async with self.database.unit_of_work() as uow:
            taken = await uow.session.execute(
                update(RelayLease)
                .where(RelayLease.name == _LEASE)
                .where(or_(RelayLease.owner == self.owner, RelayLease.expires_at < now))
                .values(owner=self.owner, expires_at=now + self.lease)
            )
            if taken.rowcount == 0:  # type: ignore[attr-defined]
                if await uow.session.get(RelayLease, _LEASE) is not None:
                    return False  # another relay holds it
                uow.session.add(
                    RelayLease(name=_LEASE, owner=self.owner, expires_at=now + self.lease)
                )
                try:
                    await uow.session.flush()
                except IntegrityError:
                    return False  # another relay took it first
            await uow.commit()
        return True


def _delivery(row: EventRecord) -> Delivery:
    return Delivery(
        id=row.id,
        type=row.type,
        version=row.version,
        subject_type=row.subject_type,
        subject_id=row.subject_id,
        payload=row.payload,
        occurred_at=row.occurred_at,
        request_id=row.request_id,
    )
