"""The inbox: a consumer's effect happens once per event, however often the event arrives.

The broker delivers at least once (a relay that dies republishes what it had not marked; a
consumer that dies before acknowledging gets its messages again). A consumer whose effect is not
naturally idempotent records the event's id here, in the transaction of its effect:

    async with database.unit_of_work() as uow:
        if await first_time(uow.session, "webhooks", delivery.id):
            ...  # the effect
        await uow.commit()

The row and the effect commit together or not at all, so a repeat finds the row and does
nothing, and a crash before the commit leaves neither.
"""

import uuid
from datetime import datetime

from sqlalchemy import String
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from agora.platform.db import Base, utcnow


class ProcessedEvent(Base):
    __tablename__ = "processed_events"

    consumer: Mapped[str] = mapped_column(String(60), primary_key=True)
    event_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    processed_at: Mapped[datetime] = mapped_column(default=utcnow)


async def first_time(session: AsyncSession, consumer: str, event_id: uuid.UUID) -> bool:
    """Record that `consumer` handles `event_id` in the current transaction; False when it
    already did (a concurrent handler of the same event waits here until the first commits)."""
    insert = postgresql_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    result = await session.execute(
        insert(ProcessedEvent)
        .values(consumer=consumer, event_id=event_id, processed_at=utcnow())
        .on_conflict_do_nothing()
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]
