"""Identity tables: users, sign-in sessions (refresh-token families) and API keys."""

import uuid
from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from agora.platform.db import Base, IdMixin, TimestampMixin, utcnow
from agora.platform.security import Role

_LIVE = text("deleted_at IS NULL")


class User(IdMixin, TimestampMixin, Base):
    __tablename__ = "users"

    email: Mapped[str] = mapped_column(String(254))
    """Stored lower-cased: emails are unique case-insensitively."""
    name: Mapped[str] = mapped_column(String(100), default="")
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(20), default=Role.CUSTOMER.value)
    version: Mapped[int] = mapped_column(default=1)
    deleted_at: Mapped[datetime | None] = mapped_column(default=None)
    tokens_valid_after: Mapped[datetime | None] = mapped_column(default=None)
    """Access tokens issued at or before this moment are refused (role change, deletion)."""

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 - SQLAlchemy's own idiom
    __table_args__ = (
        CheckConstraint("role IN ('customer', 'editor', 'admin')", name="role_known"),
        Index(
            "uq_users_email_live", "email", unique=True, sqlite_where=_LIVE, postgresql_where=_LIVE
        ),
        Index("ix_users_created_at_id", "created_at", "id"),
        Index("ix_users_email_id", "email", "id"),
        Index("ix_users_name_id", "name", "id"),
        Index("ix_users_role_created_at_id", "role", "created_at", "id"),
        Index("ix_users_tokens_valid_after", "tokens_valid_after"),
    )


class AuthSession(IdMixin, Base):
    """One sign-in: the family of refresh tokens that descend from one login."""

    __tablename__ = "auth_sessions"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None, index=True)
    revoked_reason: Mapped[str | None] = mapped_column(String(40), default=None)
    user_agent: Mapped[str] = mapped_column(String(200), default="")
    ip: Mapped[str] = mapped_column(String(64), default="")


class RefreshToken(IdMixin, Base):
    """A refresh token, stored as its SHA-256 (the token itself is never stored)."""

    __tablename__ = "refresh_tokens"

    session_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("auth_sessions.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None] = mapped_column(default=None)

    session: Mapped[AuthSession] = relationship(lazy="joined", innerjoin=True)


class ApiKey(IdMixin, Base):
    """A key for server-to-server calls, stored as its SHA-256 and found by its prefix."""

    __tablename__ = "api_keys"

    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    key_hash: Mapped[str] = mapped_column(String(64))
    scopes: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(default=None)
    last_used_at: Mapped[datetime | None] = mapped_column(default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)

    __table_args__ = (Index("ix_api_keys_created_at_id", "created_at", "id"),)
