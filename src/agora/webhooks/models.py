"""Webhook tables: the endpoints subscribers registered, what is owed to each (deliveries) and
every try (attempts)."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from agora.platform.db import Base, IdMixin, TimestampMixin

_DUE = text("status = 'pending'")


class WebhookEndpoint(IdMixin, TimestampMixin, Base):
    __tablename__ = "webhook_endpoints"

    url: Mapped[str] = mapped_column(String(2048))
    description: Mapped[str] = mapped_column(String(500), default="")
    events: Mapped[list[str]] = mapped_column(JSON)
    enabled: Mapped[bool] = mapped_column(default=True)
    disabled_reason: Mapped[str | None] = mapped_column(String(40), default=None)
    secret: Mapped[str] = mapped_column(Text)
    """The signing secret, sealed with the instance's key (`agora.webhooks.signing`)."""
    previous_secret: Mapped[str | None] = mapped_column(Text, default=None)
    previous_secret_expires_at: Mapped[datetime | None] = mapped_column(default=None)
    failing_since: Mapped[datetime | None] = mapped_column(default=None)
    """When the current run of failed attempts began (None after a success)."""

    __table_args__ = (
        CheckConstraint(
            "disabled_reason IS NULL OR disabled_reason IN ('manual', 'gone', 'failing')",
            name="disabled_reason_known",
        ),
        Index("ix_webhook_endpoints_created_at_id", "created_at", "id"),
    )


class WebhookDelivery(IdMixin, TimestampMixin, Base):
    """One event owed to one endpoint: sent until it succeeds or its retry window closes.

    `message_id` is the `webhook-id` header: the same on every attempt and redelivery, so a
    receiver can drop repeats.
    """

    __tablename__ = "webhook_deliveries"

    endpoint_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("webhook_endpoints.id", ondelete="CASCADE")
    )
    message_id: Mapped[str] = mapped_column(String(64))
    event_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    event_type: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempt_count: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None]
    """When the next attempt is due (None once it succeeded or failed for good)."""
    retry_until: Mapped[datetime]
    claimed_until: Mapped[datetime | None] = mapped_column(default=None)
    """A dispatcher is sending it until then; after that another one may."""
    claim: Mapped[uuid.UUID | None] = mapped_column(default=None)
    attempts: Mapped[list["WebhookAttempt"]] = relationship(
        order_by="WebhookAttempt.number", lazy="raise", passive_deletes=True
    )

    __table_args__ = (
        CheckConstraint("status IN ('pending', 'succeeded', 'failed')", name="status_known"),
        Index("ix_webhook_deliveries_endpoint_id", "endpoint_id", "id"),
        Index(
            "ix_webhook_deliveries_due",
            "next_attempt_at",
            sqlite_where=_DUE,
            postgresql_where=_DUE,
        ),
        # The fan-out owes an event to an endpoint once, even if it ran twice.
        Index("uq_webhook_deliveries_endpoint_event", "endpoint_id", "event_id", unique=True),
    )


class WebhookAttempt(IdMixin, Base):
    __tablename__ = "webhook_attempts"

    delivery_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("webhook_deliveries.id", ondelete="CASCADE")
    )
    number: Mapped[int]
    attempted_at: Mapped[datetime]
    duration_ms: Mapped[int]
    outcome: Mapped[str] = mapped_column(String(20))
    status_code: Mapped[int | None] = mapped_column(default=None)
    response_body: Mapped[str | None] = mapped_column(Text, default=None)
    error: Mapped[str | None] = mapped_column(String(200), default=None)

    __table_args__ = (Index("ix_webhook_attempts_delivery_id", "delivery_id", "number"),)
