"""The outbox: events recorded in the same transaction as the change they describe.

A service calls `record(session, ...)` before committing; the event row commits or rolls back
with the business rows, so nothing is announced that did not happen and nothing that happened
goes unannounced. The table is the event log (`GET /events`). Nothing relays the rows to
subscribers yet: `published_at` stays empty until a relay exists.
"""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, String, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from agora.platform.db import Base, utcnow
from agora.platform.ids import new_id
from agora.platform.observability import request_id_var


class EventRecord(Base):
    __tablename__ = "events"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    type: Mapped[str] = mapped_column(String(64))
    subject_type: Mapped[str] = mapped_column(String(40))
    subject_id: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow)
    request_id: Mapped[str | None] = mapped_column(String(128), default=None)
    published_at: Mapped[datetime | None] = mapped_column(default=None)

    __table_args__ = (
        Index("ix_events_type_id", "type", "id"),
        Index("ix_events_subject", "subject_type", "subject_id", "id"),
        Index(
            "ix_events_unpublished",
            "id",
            sqlite_where=text("published_at IS NULL"),
            postgresql_where=text("published_at IS NULL"),
        ),
    )


def record(
    session: AsyncSession,
    event_type: str,
    *,
    subject_type: str,
    subject_id: uuid.UUID | str,
    payload: dict[str, Any],
) -> EventRecord:
    """Add an event to the current transaction (it commits with it, or not at all)."""
    event = EventRecord(
        id=new_id(),
        type=event_type,
        subject_type=subject_type,
        subject_id=str(subject_id),
        payload=payload,
        occurred_at=utcnow(),
        request_id=request_id_var.get(),
    )
    session.add(event)
    return event
