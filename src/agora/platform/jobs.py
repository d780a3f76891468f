"""Periodic jobs (expiring unpaid orders, reconciling payments, cleaning up old keys).

Each instance runs them in process by default; in production, web instances set
`AGORA_JOBS_ENABLED=false` and `agora worker` runs them in a process of its own. Jobs must be
safe to run concurrently on several instances: every job here claims its rows with conditional
updates, so overlapping runs do the work once.
"""

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from agora.platform.observability import get_logger

log = get_logger("agora.jobs")

JobFunction = Callable[[], Awaitable[Any]]


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    every_seconds: float
    run: JobFunction


class Scheduler:
    def __init__(self) -> None:
        self.jobs: dict[str, PeriodicJob] = {}
        self._tasks: list[asyncio.Task[None]] = []

    def every(self, seconds: float, name: str, run: JobFunction) -> None:
        self.jobs[name] = PeriodicJob(name, seconds, run)

    async def run_once(self, name: str) -> Any:
        """Run one job now (the CLI and tests use this)."""
        return await self.jobs[name].run()

    async def start(self) -> None:
        for job in self.jobs.values():
            self._tasks.append(asyncio.create_task(self._loop(job), name=f"agora-job-{job.name}"))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()

    async def _loop(self, job: PeriodicJob) -> None:
        while True:
            await asyncio.sleep(job.every_seconds)
            try:
                result = await job.run()
                if result:
                    log.info("job_ran", job=job.name, result=result)
            except Exception:
                log.exception("job_failed", job=job.name)
