"""The outbox: typed events recorded in the same transaction as the change they describe.

Each context declares its events as `Event` subclasses (`catalog/events.py`, ...): a past-tense
`TYPE` such as `order.created`, a `VERSION` of the payload's shape, and the `SUBJECT` (the
aggregate) it is about. A service calls `record(session, event)` before committing; the row
commits or rolls back with the business rows, so nothing is announced that did not happen and
nothing that happened goes unannounced. The table is the event log (`GET /events`) and the
queue the relay publishes from (`published_at` is set once the broker has it).
"""

import uuid
from datetime import datetime
from typing import Any, ClassVar

from pydantic import ConfigDict
from sqlalchemy import JSON, Index, String, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from agora.platform.db import Base, utcnow
from agora.platform.ids import new_id
from agora.platform.observability import request_id_var
from agora.platform.schemas import ApiModel


class Event(ApiModel):
    """A fact one context announces to the others and to subscribers, as a typed payload."""

    model_config = ConfigDict(frozen=True)

    TYPE: ClassVar[str]
    """Past tense, `<subject>.<what happened>`: `order.created`."""
    VERSION: ClassVar[int] = 1
    """Raised when the payload changes in a way its readers would notice."""
    SUBJECT: ClassVar[str]
    """The kind of aggregate it is about (`order`); one subject's events keep their order."""

    def subject_id(self) -> str:
        raise NotImplementedError

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "TYPE" in cls.__dict__:
            known = EVENT_TYPES.setdefault(cls.TYPE, cls)
            if known is not cls:
                raise TypeError(f"event type {cls.TYPE} is declared twice")


EVENT_TYPES: dict[str, type[Event]] = {}
"""Every declared event type, by name (filled as the contexts' `events` modules load)."""


class EventRecord(Base):
    __tablename__ = "events"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    type: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(default=1)
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


def record(session: AsyncSession, event: Event) -> EventRecord:
    """Add an event to the current transaction (it commits with it, or not at all)."""
    row = EventRecord(
        id=new_id(),
        type=event.TYPE,
        version=event.VERSION,
        subject_type=event.SUBJECT,
        subject_id=event.subject_id(),
        payload=event.model_dump(mode="json", by_alias=True),
        occurred_at=utcnow(),
        request_id=request_id_var.get(),
    )
    session.add(row)
    return row
