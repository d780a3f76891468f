"""What an instance runs besides answering requests: periodic jobs, the outbox relay and the
event consumers (in the web process by default; in `agora worker` in production, with
`AGORA_JOBS_ENABLED=false` on the web instances)."""

import asyncio
import contextlib
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

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
        loops: Sequence[Callable[[], Coroutine[Any, Any, None]]] = (),
    ) -> None:
        self.scheduler = scheduler
        self.relay = relay
        self.broker = broker
        self.subscriptions = list(subscriptions)
        self.loops = list(loops)
        """Workers that run until cancelled (the webhook dispatcher)."""
        self._relay: asyncio.Task[None] | None = None
        self._loops: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        await self.scheduler.start()
        # The broker's consumers reconnect by themselves while it is away: starting never waits.
        await self.broker.start(self.subscriptions)
        self._relay = asyncio.create_task(self.relay.run(), name="agora-relay")
        self._loops = [asyncio.create_task(loop()) for loop in self.loops]

    async def stop(self) -> None:
        for task in self._loops:
            task.cancel()
        await asyncio.gather(*self._loops, return_exceptions=True)
        self._loops = []
        if self._relay is not None:
            self._relay.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._relay
            self._relay = None
            with contextlib.suppress(Exception):  # the database may be gone: the lease expires
                await self.relay.release()
        await self.scheduler.stop()
