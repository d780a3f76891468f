"""The jobs table: the queue of background work, its progress and its outcome."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from agora.platform.db import Base, IdMixin, TimestampMixin


class Job(IdMixin, TimestampMixin, Base):
    """One piece of bulk work (a product import, a report), claimed by one worker at a time.

    A worker holds a job while `lease_until` is in the future and proves it with `claim` on
    every write; a job whose lease ran out (its worker died) is claimed again and resumes
    from its last checkpoint (`progress_done`, `state`).
    """

    __tablename__ = "jobs"

    type: Mapped[str] = mapped_column(String(40))
    owner_id: Mapped[uuid.UUID]
    """Who asked for it (a user, or the API key): they and admins may read it."""
    status: Mapped[str] = mapped_column(String(16), default="queued")
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    input_key: Mapped[str | None] = mapped_column(String(200), default=None)
    """The uploaded file in storage, if the job reads one."""
    progress_done: Mapped[int] = mapped_column(default=0)
    progress_total: Mapped[int | None] = mapped_column(default=None)
    state: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    """What the handler saved with its last checkpoint (counts so far, errors so far)."""
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    result_key: Mapped[str | None] = mapped_column(String(200), default=None)
    """The result file in storage (downloaded through a signed URL)."""
    error: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    attempts: Mapped[int] = mapped_column(default=0)
    claim: Mapped[uuid.UUID | None] = mapped_column(default=None)
    lease_until: Mapped[datetime | None] = mapped_column(default=None)
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)

    __table_args__ = (
        CheckConstraint(
            "status IN ('queued', 'running', 'succeeded', 'failed')", name="status_known"
        ),
        # What a worker looks for: queued jobs, and running ones whose lease ran out.
        Index(
            "ix_jobs_open",
            "status",
            "created_at",
            sqlite_where=text("status IN ('queued', 'running')"),
            postgresql_where=text("status IN ('queued', 'running')"),
        ),
    )
