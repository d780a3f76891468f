"""Idempotency keys (SPEC.md section 5): a repeated POST gets the first answer, not a second effect.

A key is claimed in the database (a unique constraint on owner + key) before the request runs;
the answer is stored when it finishes. A repeat with the same body replays the stored answer; a
repeat with another body is a 422; a repeat while the first still runs is a 409. Answers that
did no work (400, 401, 403, 429) and server failures (5xx, after which the transaction rolled
back) release the key, so the client may try again. Keys expire after 24 hours.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import JSON, Index, LargeBinary, String, UniqueConstraint, delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from agora.platform.clock import Clock
from agora.platform.db import Base, Database
from agora.platform.errors import BadRequest
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
    response_status: Mapped[int | None] = mapped_column(default=None)
    response_headers: Mapped[list[list[str]] | None] = mapped_column(JSON, default=None)
    response_body: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]

    __table_args__ = (
        UniqueConstraint("owner", "key"),
        Index("ix_idempotency_keys_expires_at", "expires_at"),
    )


@dataclass(frozen=True)
class Claimed:
    """This request owns the key: run it."""


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

    async def claim(self, owner: str, key: str, fingerprint: str) -> Claim:
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
                    if row.fingerprint != fingerprint:
                        return Mismatch()
                    if row.state == COMPLETED:
                        return Replay(
                            row.response_status or 200,
                            [(name, value) for name, value in row.response_headers or []],
                            row.response_body or b"",
                        )
                    if row.created_at > now - self.lock_timeout:
                        return InFlight()
                    row.created_at = now  # the first attempt died; this one takes over
                    await uow.commit()
                    return Claimed()
                uow.session.add(
                    IdempotencyKey(
                        owner=owner,
                        key=key,
                        fingerprint=fingerprint,
                        state=IN_PROGRESS,
                        created_at=now,
                        expires_at=now + self.ttl,
                    )
                )
                try:
                    await uow.commit()
                except IntegrityError:
                    continue
                return Claimed()
        return InFlight()

    async def complete(
        self, owner: str, key: str, status: int, headers: list[tuple[str, str]], body: bytes
    ) -> None:
        async with self.database.unit_of_work() as uow:
            row = await uow.session.scalar(
                select(IdempotencyKey).where(
                    IdempotencyKey.owner == owner, IdempotencyKey.key == key
                )
            )
            if row is not None:
                row.state = COMPLETED
                row.response_status = status
                row.response_headers = [[name, value] for name, value in headers]
                row.response_body = body
                await uow.commit()

    async def release(self, owner: str, key: str) -> None:
        async with self.database.unit_of_work() as uow:
            await uow.session.execute(
                delete(IdempotencyKey).where(
                    IdempotencyKey.owner == owner, IdempotencyKey.key == key
                )
            )
            await uow.commit()

    async def purge_expired(self) -> int:
        """Delete keys past their retention (a periodic job)."""
        async with self.database.unit_of_work() as uow:
            result: Any = await uow.session.execute(
                delete(IdempotencyKey).where(IdempotencyKey.expires_at <= self.clock.now())
            )
            await uow.commit()
        return int(result.rowcount or 0)


async def require_idempotency_key(request: Request) -> str:
    """For routes where a repeat could do harm twice (payments): the key is mandatory."""
    key = request.headers.get("idempotency-key")
    if not key:
        raise BadRequest(
            "This request needs an Idempotency-Key header (1 to 255 characters).",
            code="idempotency_key_required",
            field="Idempotency-Key",
        )
    return key


RequiredIdempotencyKey = Annotated[str, Depends(require_idempotency_key)]
