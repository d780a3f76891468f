"""How jobs plug into an Agora instance: its wiring (used by `agora.app` only).

Contexts that offer bulk work are given `queue` to submit jobs and hand their handlers back;
the runner runs wherever the background runs (the web process by default, `agora worker` in
production).
"""

from collections.abc import Mapping
from dataclasses import dataclass

from fastapi import FastAPI

from agora.jobs.api import router
from agora.jobs.links import ResultLinks
from agora.jobs.runner import JobHandler, JobRunner
from agora.jobs.service import JobQueue, JobService
from agora.platform.broker import Subscription
from agora.platform.runtime import Runtime


@dataclass(frozen=True)
class JobsServices:
    service: JobService


class JobsModule:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.queue = JobQueue()
        settings = runtime.settings
        links = ResultLinks(runtime.secret, settings.job_result_url_ttl_seconds)
        self.services = JobsServices(JobService(runtime.database, runtime.clock, links))
        self.runner: JobRunner | None = None

    def run(self, handlers: Mapping[str, JobHandler]) -> JobRunner:
        """The runner of `handlers` (each context's, by job type), built once."""
        settings = self.runtime.settings
        self.runner = JobRunner(
            self.runtime.database,
            self.runtime.clock,
            handlers,
            lease_seconds=settings.job_lease_seconds,
            poll_seconds=settings.job_poll_ms / 1000,
            max_attempts=settings.job_max_attempts,
        )
        return self.runner

    @property
    def subscriptions(self) -> list[Subscription]:
        return [] if self.runner is None else [self.runner.subscription()]

    def install(self, app: FastAPI) -> None:
        app.state.jobs = self.services
        app.include_router(router)
