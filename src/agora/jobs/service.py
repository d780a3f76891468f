"""Queueing jobs (for the contexts that offer bulk work) and reading them (for their owners)."""

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from agora.jobs.domain import JobStatus, may_read
from agora.jobs.errors import JobNotFound, ResultNotFound
from agora.jobs.events import JobQueued
from agora.jobs.links import ResultLinks
from agora.jobs.models import Job
from agora.platform import events
from agora.platform.clock import Clock
from agora.platform.db import Database
from agora.platform.ids import new_id
from agora.platform.security import Principal


class JobQueue:
    """What a context is given to queue work: `submit` joins the caller's transaction, so the
    job exists exactly when the caller's other rows (and its Idempotency-Key record) do."""

    def submit(
        self,
        session: AsyncSession,
        *,
        type: str,
        owner: Principal,
        params: dict[str, Any] | None = None,
        input_key: str | None = None,
    ) -> Job:
        job = Job(
            id=new_id(),
            type=type,
            owner_id=owner.id,
            status=JobStatus.QUEUED.value,
            params=params or {},
            input_key=input_key,
            state={},
        )
        session.add(job)
        # Workers wake on this event (in process, or through the broker); they also poll.
        events.record(session, JobQueued(id=job.id, type=type))
        return job


class JobService:
    def __init__(self, database: Database, clock: Clock, links: ResultLinks) -> None:
        self.database = database
        self.clock = clock
        self.links = links

    async def get(self, job_id: uuid.UUID, viewer: Principal) -> Job:
        async with self.database.session() as session:
            job = await session.get(Job, job_id)
        if job is None or not may_read(viewer, job.owner_id):
            raise JobNotFound()
        return job

    def result_query(self, job: Job) -> str | None:
        """The signature part of the job's result link, if it has a result file."""
        if job.result_key is None:
            return None
        return self.links.query(job.id, self.clock.now().timestamp())

    async def result_key(self, job_id: uuid.UUID, expires: int, signature: str) -> str:
        """The storage key a signed link points at; 404 for a bad or expired link."""
        if not self.links.valid(job_id, expires, signature, self.clock.now().timestamp()):
            raise ResultNotFound()
        async with self.database.session() as session:
            job = await session.get(Job, job_id)
        if job is None or job.result_key is None:
            raise ResultNotFound()
        return job.result_key
