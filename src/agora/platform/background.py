"""What an instance runs besides answering requests: periodic jobs, the outbox relay and the
event consumers (in the web process by default; in `agora worker` in production, with
`AGORA_JOBS_ENABLED=false` on the web instances)."""

import asyncio
import contextlib
from collections.abc import Sequence

from agora.platform.broker import Broker, Subscription
from agora.platform.jobs import Scheduler
from agora.platform.outbox import Relay


class Background:
    def __init__(
        self,
        scheduler: Scheduler,
        relay: Relay,
        broker: Broker,
        subscriptions: Sequence[Subscription],
    ) -> None:
        self.scheduler = scheduler
        self.relay = relay
        self.broker = broker
        self.subscriptions = list(subscriptions)
        self._relay: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self.scheduler.start()
        # The broker's consumers reconnect by themselves while it is away: starting never waits.
        await self.broker.start(self.subscriptions)
        self._relay = asyncio.create_task(self.relay.run(), name="agora-relay")

    async def stop(self) -> None:
        if self._relay is not None:
            self._relay.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._relay
            self._relay = None
            with contextlib.suppress(Exception):  # the database may be gone: the lease expires
                await self.relay.release()
        await self.scheduler.stop()
