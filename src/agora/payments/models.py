"""Payments tables: charges and refunds, with the amounts Agora has asked the provider for."""

import uuid

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from agora.platform.db import Base, IdMixin, TimestampMixin

_ACTIVE = text("status IN ('processing', 'succeeded')")


class Payment(IdMixin, TimestampMixin, Base):
    __tablename__ = "payments"

    order_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("orders.id"))
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(16), default="processing")
    payment_method: Mapped[str] = mapped_column(String(64))
    provider: Mapped[str] = mapped_column(String(32))
    provider_reference: Mapped[str | None] = mapped_column(String(64), default=None)
    failure_code: Mapped[str | None] = mapped_column(String(64), default=None)
    refunded_cents: Mapped[int] = mapped_column(BigInteger, default=0)

    __table_args__ = (
        CheckConstraint("status IN ('processing', 'succeeded', 'failed')", name="status_known"),
        CheckConstraint(
            "refunded_cents >= 0 AND refunded_cents <= amount_cents", name="refund_bounded"
        ),
        # At most one payment of an order is underway or done: no double charge by two keys.
        Index(
            "uq_payments_order_active",
            "order_id",
            unique=True,
            sqlite_where=_ACTIVE,
            postgresql_where=_ACTIVE,
        ),
        Index("ix_payments_order_id", "order_id"),
        Index("ix_payments_status_created_at", "status", "created_at"),
    )


class Refund(IdMixin, TimestampMixin, Base):
    __tablename__ = "refunds"

    payment_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("payments.id"))
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    reason: Mapped[str] = mapped_column(String(64), default="requested")
    provider_reference: Mapped[str | None] = mapped_column(String(64), default=None)

    __table_args__ = (
        CheckConstraint("status IN ('pending', 'succeeded', 'failed')", name="status_known"),
        CheckConstraint("amount_cents > 0", name="amount_positive"),
        Index("ix_refunds_payment_id", "payment_id"),
        Index("ix_refunds_status_created_at", "status", "created_at"),
    )
