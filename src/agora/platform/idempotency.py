"""Idempotency keys: a repeated POST gets the first answer, not a second effect (docs/api.md).

The design is Stripe's (atomic phases and recovery points), ADR 14:

- A key is claimed in the database (a unique constraint on owner + key) before the request runs:
  a row `in_progress`, locked by attempt number N. A repeat while it is locked is a 409.
- A use case that changes state records a **recovery point** (`Attempt.reach`) in the same
  transaction as its effect, fenced by the attempt number: the effect and the point commit
  together or not at all. A use case with several phases records its point in the first phase
  that changes state (a payment: when it is recorded, before the provider is called); a retry
  resumes the later phases from the state that phase left (the payment's status).
- When the request finishes, its answer is stored (`completed`) and replayed to every repeat
  with the same body. Answers that did no work (400, 401, 403, 429) release the key; so do server
  errors before any recovery point. A server error after one unlocks the key instead.
- A key left locked by an attempt that died (the process was killed between the effect's
  commit and storing the answer, say) can be taken over once `lock_timeout` passes, or at once
  when it was unlocked: the new attempt (N+1) gets the recovery point its predecessor reached and
  resumes from it (an order already placed is answered, not placed again). Fencing makes a
  takeover safe even if the old attempt was only slow: its next recovery point, and with it its
  transaction, fails.

Keys expire after 24 hours.
"""

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import Depends, Header, Request
from sqlalchemy import JSON, Index, LargeBinary, String, UniqueConstraint, delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from agora.platform.clock import Clock
from agora.platform.db import Base, Database
from agora.platform.errors import BadRequest, Conflict
from agora.platform.ids import new_id

IN_PROGRESS = "in_progress"
COMPLETED = "completed"


class IdempotencyKey(Base):
    __tablename__ = "idempotency_keys"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    owner: Mapped[str] = mapped_column(String(80))
    key: Mapped[str] = mapped_column(String(255))
    fingerprint: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16))
    attempt: Mapped[int] = mapped_column(default=1)
    locked_at: Mapped[datetime | None] = mapped_column(default=None)
    recovery_point: Mapped[str | None] = mapped_column(String(64), default=None)
    recovery_data: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    response_status: Mapped[int | None] = mapped_column(default=None)
    response_headers: Mapped[list[list[str]] | None] = mapped_column(JSON, default=None)
    response_body: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]

    __table_args__ = (
        UniqueConstraint("owner", "key"),
        Index("ix_idempotency_keys_expires_at", "expires_at"),
    )


class Superseded(Conflict):
    """This attempt's lock expired and a retry with the same key took over."""

    code = "idempotency_key_taken_over"
    default_message = (
        "A newer request with this Idempotency-Key took over while this one ran; nothing was "
        "changed by this one."
    )


@dataclass
class Attempt:
    """One run of a request under an Idempotency-Key, as its use case sees it.

    `recovered` is the recovery point an earlier, interrupted attempt reached (name -> data),
    if any. Without a key (`NO_KEY`), `reach` does nothing and nothing is recovered.
    `replayed` says the answer comes from an earlier attempt's work (the response then carries
    `Idempotent-Replayed: true`): set when a use case resumes, cleared when it does new work.
    """

    key_id: uuid.UUID | None = None
    number: int = 0
    recovered: dict[str, dict[str, Any]] = field(default_factory=dict)
    replayed: bool = False

    def resumed(self, point: str) -> dict[str, Any] | None:
        """The data recorded at `point` by an earlier attempt, or None."""
        data = self.recovered.get(point)
        if data is not None:
            self.replayed = True
        return data

    async def reach(self, session: AsyncSession, point: str, **data: Any) -> None:
        """Record `point` (with `data`) inside the caller's transaction, before it commits.

        Raises `Superseded` (the caller's transaction must roll back) if a retry took the key
        over meanwhile.
        """
        if self.key_id is None:
            return
        result: Any = await session.execute(
            update(IdempotencyKey)
            .where(IdempotencyKey.id == self.key_id, IdempotencyKey.attempt == self.number)
            .values(recovery_point=point, recovery_data=data)
        )
        if result.rowcount != 1:
            raise Superseded(field="Idempotency-Key")
        self.replayed = False


NO_KEY = Attempt()


@dataclass(frozen=True)
class Claimed:
    """This request owns the key: run it (resuming from `attempt.recovered`, if any)."""

    attempt: Attempt


@dataclass(frozen=True)
class Replay:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


@dataclass(frozen=True)
class InFlight:
    """The first request with this key is still running."""


@dataclass(frozen=True)
class Mismatch:
    """The key was used for a different request."""


Claim = Claimed | Replay | InFlight | Mismatch


class IdempotencyStore:
    def __init__(
        self, database: Database, clock: Clock, *, ttl: timedelta, lock_timeout: timedelta
    ) -> None:
        self.database = database
        self.clock = clock
        self.ttl = ttl
        self.lock_timeout = lock_timeout

    async def claim(self, owner: str, key: str, fingerprint: str, *also: str) -> Claim:
        """Claim `key` for a request identified by `fingerprint` (a row stored with one of
        `also`, older ways to fingerprint the same request, matches too)."""
        now = self.clock.now()
        for _ in range(2):  # a second pass after losing an insert race
            async with self.database.unit_of_work() as uow:
                row = await uow.session.scalar(
                    select(IdempotencyKey)
                    .where(IdempotencyKey.owner == owner, IdempotencyKey.key == key)
                    .with_for_update()
                )
                if row is not None and row.expires_at <= now:
                    await uow.session.delete(row)
                    await uow.session.flush()
                    row = None
                if row is not None:
                    if row.fingerprint != fingerprint and row.fingerprint not in also:
                        return Mismatch()
                    if row.state == COMPLETED:
                        return Replay(
                            row.response_status or 200,
                            [(name, value) for name, value in row.response_headers or []],
                            row.response_body or b"",
                        )
                    if row.locked_at is not None and row.locked_at > now - self.lock_timeout:
                        return InFlight()
                    # The last attempt died or gave up: this one takes over where it stopped.
                    row.attempt += 1
                    row.locked_at = now
                    recovered = (
                        {row.recovery_point: dict(row.recovery_data or {})}
                        if row.recovery_point
                        else {}
                    )
                    attempt = Attempt(row.id, row.attempt, recovered)
                    await uow.commit()
                    return Claimed(attempt)
                row = IdempotencyKey(
                    id=new_id(),
                    owner=owner,
                    key=key,
                    fingerprint=fingerprint,
                    state=IN_PROGRESS,
                    attempt=1,
                    locked_at=now,
                    created_at=now,
                    expires_at=now + self.ttl,
                )
                uow.session.add(row)
                try:
                    await uow.commit()
                except IntegrityError:
                    continue
                return Claimed(Attempt(row.id, 1))
        return InFlight()

    async def complete(
        self, attempt: Attempt, status: int, headers: list[tuple[str, str]], body: bytes
    ) -> None:
        """Store the answer, unless a retry took the key over meanwhile."""
        async with self.database.unit_of_work() as uow:
            await uow.session.execute(
                self._mine(attempt).values(
                    state=COMPLETED,
                    locked_at=None,
                    response_status=status,
                    response_headers=[[name, value] for name, value in headers],
                    response_body=body,
                )
            )
            await uow.commit()

    async def abandon(self, attempt: Attempt) -> None:
        """The attempt failed: forget the key if nothing was recorded, else unlock it at once."""
        async with self.database.unit_of_work() as uow:
            forgotten: Any = await uow.session.execute(
                delete(IdempotencyKey).where(
                    IdempotencyKey.id == attempt.key_id,
                    IdempotencyKey.attempt == attempt.number,
                    IdempotencyKey.recovery_point.is_(None),
                )
            )
            if not forgotten.rowcount:
                await uow.session.execute(self._mine(attempt).values(locked_at=None))
            await uow.commit()

    @staticmethod
    def _mine(attempt: Attempt) -> Any:
        return update(IdempotencyKey).where(
            IdempotencyKey.id == attempt.key_id, IdempotencyKey.attempt == attempt.number
        )

    async def purge_expired(self, batch: int = 1000) -> int:
        """Delete keys past their retention (a periodic job), a batch per transaction, so that
        each stays well within the database deadline however many expired."""
        now, purged = self.clock.now(), 0
        while True:
            expired = select(IdempotencyKey.id).where(IdempotencyKey.expires_at <= now).limit(batch)
            async with self.database.unit_of_work() as uow:
                result: Any = await uow.session.execute(
                    delete(IdempotencyKey).where(IdempotencyKey.id.in_(expired.scalar_subquery()))
                )
                await uow.commit()
            purged += int(result.rowcount or 0)
            if (result.rowcount or 0) < batch:
                return purged


IDEMPOTENCY_STATE = "idempotency"
"""Where the middleware leaves the request's `Attempt` in the ASGI scope's state."""


KEY_DESCRIPTION = (
    "Makes a retry safe: a repeat with the same key and body gets the first answer "
    "(`Idempotent-Replayed: true`) instead of doing it again. 1 to 255 printable ASCII "
    "characters, kept 24 hours, per caller."
)
KEY_PATTERN = r"^[\x20-\x7e]{1,255}$"

REQUIRED_KEY = {
    "parameters": [
        {
            "name": "Idempotency-Key",
            "in": "header",
            "required": True,
            "description": KEY_DESCRIPTION,
            "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": KEY_PATTERN},
        }
    ]
}
"""`openapi_extra` of a route that depends on `RequiredIdempotencyKey` (which reads the key
itself, so that its absence is a precise `idempotency_key_required`)."""


def _attempt_of(request: Request) -> Attempt:
    attempt: Attempt = request.scope.get("state", {}).get(IDEMPOTENCY_STATE, NO_KEY)
    return attempt


async def current_attempt(
    request: Request,
    _: Annotated[
        str | None,
        Header(alias="Idempotency-Key", description=KEY_DESCRIPTION, pattern=KEY_PATTERN),
    ] = None,
) -> Attempt:
    """The request's attempt under its Idempotency-Key (`NO_KEY` without one)."""
    return _attempt_of(request)


async def required_attempt(request: Request) -> Attempt:
    """For routes where a repeat could do harm twice (payments): the key is mandatory."""
    attempt = _attempt_of(request)
    if attempt.key_id is None:
        raise BadRequest(
            "This request needs an Idempotency-Key header (1 to 255 characters).",
            code="idempotency_key_required",
            field="Idempotency-Key",
        )
    return attempt


IdempotencyAttempt = Annotated[Attempt, Depends(current_attempt)]
RequiredIdempotencyKey = Annotated[Attempt, Depends(required_attempt)]
