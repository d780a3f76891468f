"""Work owed to Redis (cache deletes, broadcasts), sent again in the background until it is done.

A request that could not reach Redis leaves its work behind and goes on; it never waits for
what earlier requests left. One task per owner retries with backoff (so a single failed call,
too few to open the breaker, is not forgotten), and the Redis breaker's recovery sends at once.
"""

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

from agora.platform.observability import get_logger

log = get_logger("agora.resend")

Send = Callable[[], Awaitable[bool]]
"""Send what is owed; True when nothing is left."""


class Resender:
    def __init__(
        self, send: Send, *, name: str, first_delay: float = 0.25, max_delay: float = 5.0
    ) -> None:
        self._send = send
        self._name = name
        self._first_delay = first_delay
        self._max_delay = max_delay
        self._task: asyncio.Task[None] | None = None
        self._closed = False

    def wake(self) -> None:
        """Something is owed: make sure a task is sending it."""
        if self._closed or (self._task is not None and not self._task.done()):
            return
        self._task = asyncio.get_running_loop().create_task(self._run(), name=self._name)

    async def _run(self) -> None:
        delay = self._first_delay
        while True:
            await asyncio.sleep(delay)
            try:
                if await self._send():
                    return
            except Exception:
                log.exception("resend_failed", owner=self._name)
            delay = min(delay * 2, self._max_delay)

    async def close(self) -> None:
        self._closed = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
