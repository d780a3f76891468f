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
from agora.platform.db import utcnow
from agora.platform.observability import get_logger
from agora.platform.runtime import Runtime

CHANNEL = "identity.revocations"
# Commits can land out of order; re-reading a margin of the past makes late ones visible.
_OVERLAP = timedelta(seconds=30)

log = get_logger("agora.identity.revocations")


async def announce_session(runtime: Runtime, session_id: uuid.UUID) -> None:
    await runtime.broadcast.publish(CHANNEL, {"session": str(session_id)})


async def announce_user(runtime: Runtime, user_id: uuid.UUID, before: datetime) -> None:
    await runtime.broadcast.publish(CHANNEL, {"user": str(user_id), "before": before.timestamp()})


def subscribe(runtime: Runtime) -> None:
    async def apply(message: dict[str, Any]) -> None:
        if "session" in message:
            runtime.revocations.revoke_session(uuid.UUID(message["session"]))
        if "user" in message:
            runtime.revocations.revoke_user(uuid.UUID(message["user"]), float(message["before"]))

    runtime.broadcast.subscribe(CHANNEL, apply)


class RevocationFeed:
    """Reads recent revocations from the database into this instance's list, periodically."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self._task: asyncio.Task[None] | None = None

    async def load(self, since: datetime) -> None:
        async with self.runtime.database.session() as session:
            for session_id in await SessionRepository(session).revoked_since(since):
                self.runtime.revocations.revoke_session(session_id)
            for user_id, moment in await UserRepository(session).revoked_since(since):
                self.runtime.revocations.revoke_user(user_id, moment.timestamp())

    async def start(self) -> None:
        ttl = timedelta(seconds=self.runtime.settings.access_token_ttl_seconds)
        try:
            await self.load(utcnow() - ttl)
        except Exception as exc:  # the database may be down at start; the loop retries
            log.warning("revocations_not_loaded", error=str(exc)[:200])
        self._task = asyncio.create_task(self._poll(), name="agora-revocation-feed")

    async def _poll(self) -> None:
        interval = self.runtime.settings.revocation_poll_seconds
        ttl = timedelta(seconds=self.runtime.settings.access_token_ttl_seconds)
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
