"""Spreading revocations to every instance: broadcast at once, and a database read as backstop.

Each instance keeps revoked sessions and users in memory (`RevocationList`), because access
tokens are verified without a database round trip. The instance that revokes updates its own
list at once; others hear of it through the broadcast (Redis) within milliseconds, or, without
Redis or if a message is lost, from the database within `AGORA_REVOCATION_POLL_SECONDS`.
"""

import asyncio
import contextlib
import uuid
from datetime import datetime, timedelta
from typing import Any

from agora.identity.repository import SessionRepository, UserRepository
from agora.platform.broadcast import Broadcast
from agora.platform.db import Database, utcnow
from agora.platform.observability import get_logger
from agora.platform.security.revocation import RevocationList

CHANNEL = "identity.revocations"
# Commits can land out of order; re-reading a margin of the past makes late ones visible.
_OVERLAP = timedelta(seconds=30)

log = get_logger("agora.identity.revocations")


class Revocations:
    """Tells every instance that a session or a user's tokens were revoked, and listens."""

    def __init__(self, revoked: RevocationList, broadcast: Broadcast) -> None:
        self.revoked = revoked
        self.broadcast = broadcast

    async def announce_session(self, session_id: uuid.UUID) -> None:
        await self.broadcast.publish(CHANNEL, {"session": str(session_id)})

    async def announce_user(self, user_id: uuid.UUID, before: datetime) -> None:
        await self.broadcast.publish(CHANNEL, {"user": str(user_id), "before": before.timestamp()})

    def subscribe(self) -> None:
        self.broadcast.subscribe(CHANNEL, self._apply)

    async def _apply(self, message: dict[str, Any]) -> None:
        if "session" in message:
            self.revoked.revoke_session(uuid.UUID(message["session"]))
        if "user" in message:
            self.revoked.revoke_user(uuid.UUID(message["user"]), float(message["before"]))


class RevocationFeed:
    """Reads recent revocations from the database into this instance's list, periodically."""

    def __init__(
        self,
        database: Database,
        revoked: RevocationList,
        *,
        token_ttl: timedelta,
        poll_seconds: float,
    ) -> None:
        self.database = database
        self.revoked = revoked
        self.token_ttl = token_ttl
        self.poll_seconds = poll_seconds
        self._task: asyncio.Task[None] | None = None

    async def load(self, since: datetime) -> None:
        async with self.database.session() as session:
            for session_id in await SessionRepository(session).revoked_since(since):
                self.revoked.revoke_session(session_id)
            for user_id, moment in await UserRepository(session).revoked_since(since):
                self.revoked.revoke_user(user_id, moment.timestamp())

    async def start(self) -> None:
        try:
            await self.load(utcnow() - self.token_ttl)
        except Exception as exc:  # the database may be down at start; the loop retries
            log.warning("revocations_not_loaded", error=str(exc)[:200])
        self._task = asyncio.create_task(self._poll(), name="agora-revocation-feed")

    async def _poll(self) -> None:
        interval, ttl = self.poll_seconds, self.token_ttl
        while True:
            await asyncio.sleep(interval)
            try:
                await self.load(utcnow() - min(ttl, _OVERLAP + timedelta(seconds=interval)))
            except Exception as exc:
                log.warning("revocations_poll_failed", error=str(exc)[:200])

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
