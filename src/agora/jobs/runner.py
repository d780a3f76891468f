"""The jobs' worker: claims a job, runs its handler under a lease, records the outcome.

The table is the queue (ADR 22): a job is claimed with `FOR UPDATE SKIP LOCKED` (SQLite:
under its write lock) and held by a lease the runner renews while the handler works. If the
worker dies, the lease runs out and another worker claims the job again, and the handler
resumes from its last checkpoint: a handler commits its work and its checkpoint in one
transaction (`JobRun.checkpoint`), and every write of a run is guarded by its claim, so no
work is done twice and a job is completed once. Workers wake on `job.queued` events (through
the broker in production) and also poll.
"""

import asyncio
import contextlib
import uuid
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from agora.jobs.domain import JobStatus
from agora.jobs.errors import JobError, LostClaim
from agora.jobs.events import JobFailed, JobSucceeded
from agora.jobs.models import Job
from agora.platform import events
from agora.platform.broker import Delivery, Subscription
from agora.platform.clock import Clock
from agora.platform.db import Database
from agora.platform.ids import new_id
from agora.platform.observability import get_logger

log = get_logger("agora.jobs")

INTERNAL_ERROR = {
    "code": "internal_error",
    "message": "The job failed unexpectedly.",
    "field": None,
}
INTERRUPTED = {
    "code": "interrupted",
    "message": "The job was interrupted too many times (its worker stopped each time).",
    "field": None,
}


@dataclass(frozen=True)
class JobOutcome:
    result: dict[str, Any] | None = None
    result_key: str | None = None
    """A file the handler saved in storage, offered through a signed link."""


@dataclass
class JobRun:
    """One run of a job, as its handler sees it."""

    id: uuid.UUID
    type: str
    owner_id: uuid.UUID
    params: dict[str, Any]
    input_key: str | None
    done: int
    """Progress at the last checkpoint: what an earlier run finished, if this one resumes."""
    total: int | None
    state: dict[str, Any]
    _claim: uuid.UUID = field(repr=False)
    _lease: Callable[[], Any] = field(repr=False)

    async def checkpoint(
        self,
        session: AsyncSession,
        *,
        done: int,
        total: int | None = None,
        state: dict[str, Any] | None = None,
    ) -> None:
        """Record progress inside the caller's transaction, with the work it describes.

        Raises `LostClaim` (roll back) if this run no longer holds the job."""
        values: dict[str, Any] = {"progress_done": done, "lease_until": self._lease()}
        if total is not None:
            values["progress_total"] = total
        if state is not None:
            values["state"] = state
        result: Any = await session.execute(
            update(Job).where(Job.id == self.id, Job.claim == self._claim).values(**values)
        )
        if result.rowcount != 1:
            raise LostClaim()
        self.done = done
        if total is not None:
            self.total = total
        if state is not None:
            self.state = state


JobHandler = Callable[[JobRun], Coroutine[Any, Any, JobOutcome]]


class JobRunner:
    def __init__(
        self,
        database: Database,
        clock: Clock,
        handlers: Mapping[str, JobHandler],
        *,
        lease_seconds: float,
        poll_seconds: float,
        max_attempts: int,
    ) -> None:
        self.database = database
        self.clock = clock
        self.handlers = dict(handlers)
        self.lease = timedelta(seconds=lease_seconds)
        self.poll_seconds = poll_seconds
        self.max_attempts = max_attempts
        self._wake = asyncio.Event()

    def wake(self) -> None:
        self._wake.set()

    def subscription(self) -> Subscription:
        async def woken(_: Delivery) -> None:
            self.wake()

        return Subscription("jobs-wake", ("job.queued",), woken)

    async def run(self) -> None:
        """Run jobs until cancelled (a job in hand goes back to the queue)."""
        while True:
            try:
                ran = await self.run_once()
            except Exception:
                log.exception("jobs_round_failed")
                ran = 0
            if not ran:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.poll_seconds)
                self._wake.clear()

    async def run_once(self) -> int:
        """Run every job that is due now, one after another; how many ran."""
        ran = 0
        while (run := await self._claim()) is not None:
            await self._execute(run)
            ran += 1
        return ran

    # --- claiming -------------------------------------------------------------------------

    async def _claim(self) -> JobRun | None:
        while True:
            now = self.clock.now()
            async with self.database.unit_of_work() as uow:
                session = uow.session
                job = await session.scalar(
                    select(Job)
                    .where(
                        or_(
                            Job.status == JobStatus.QUEUED.value,
                            (Job.status == JobStatus.RUNNING.value) & (Job.lease_until < now),
                        ),
                        Job.type.in_(self.handlers),
                    )
                    .order_by(Job.created_at)
                    .limit(1)
                    .with_for_update(skip_locked=True)
                )
                if job is None:
                    return None
                if job.attempts >= self.max_attempts:
                    # Each earlier run died holding it (a crash it causes, say): stop here.
                    _finish(session, job, JobStatus.FAILED, now, error=INTERRUPTED)
                    await uow.commit()
                    log.error("job_interrupted", job_id=str(job.id), attempts=job.attempts)
                    continue
                token = new_id()
                job.status = JobStatus.RUNNING.value
                job.claim = token
                job.lease_until = now + self.lease
                job.attempts += 1
                job.started_at = job.started_at or now
                run = JobRun(
                    id=job.id,
                    type=job.type,
                    owner_id=job.owner_id,
                    params=dict(job.params),
                    input_key=job.input_key,
                    done=job.progress_done,
                    total=job.progress_total,
                    state=dict(job.state),
                    _claim=token,
                    _lease=lambda: self.clock.now() + self.lease,
                )
                attempt = job.attempts
                await uow.commit()
            log.info("job_started", job_id=str(run.id), type=run.type, attempt=attempt)
            return run

    # --- running --------------------------------------------------------------------------

    async def _execute(self, run: JobRun) -> None:
        work: asyncio.Task[JobOutcome] = asyncio.create_task(
            self.handlers[run.type](run), name=f"agora-job-{run.id}"
        )
        keeper = asyncio.create_task(self._keep_lease(run, work))
        try:
            try:
                outcome = await work
            finally:
                keeper.cancel()
                await asyncio.gather(keeper, return_exceptions=True)
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if current is None or not current.cancelling():
                log.warning("job_claim_lost", job_id=str(run.id))  # the keeper stopped it
                return
            # Stopping: the job goes back to the queue, to resume from its checkpoint.
            await _settle(asyncio.shield(self._release(run, delay=None)))
            raise
        except JobError as failure:
            await self._complete(run, JobStatus.FAILED, error=failure.as_dict())
        except LostClaim:
            log.warning("job_claim_lost", job_id=str(run.id))
        except Exception:
            log.exception("job_failed", job_id=str(run.id), type=run.type)
            await self._retry_or_fail(run)
        else:
            await self._complete(
                run,
                JobStatus.SUCCEEDED,
                result=outcome.result,
                result_key=outcome.result_key,
            )

    async def _keep_lease(self, run: JobRun, work: asyncio.Task[Any]) -> None:
        """Renew the lease while the handler works; stop the handler if the job was lost."""
        while True:
            await asyncio.sleep(self.lease.total_seconds() / 3)
            try:
                async with self.database.unit_of_work() as uow:
                    renewed: Any = await uow.session.execute(
                        update(Job)
                        .where(Job.id == run.id, Job.claim == run._claim)
                        .values(lease_until=self.clock.now() + self.lease)
                    )
                    await uow.commit()
            except Exception as error:  # the database is away: the next renewal may work
                log.warning("job_lease_not_renewed", job_id=str(run.id), error=str(error)[:200])
                continue
            if renewed.rowcount != 1:
                work.cancel()
                return

    async def _complete(
        self,
        run: JobRun,
        status: JobStatus,
        *,
        result: dict[str, Any] | None = None,
        result_key: str | None = None,
        error: dict[str, Any] | None = None,
    ) -> None:
        async with self.database.unit_of_work() as uow:
            job = await uow.session.scalar(
                select(Job).where(Job.id == run.id, Job.claim == run._claim).with_for_update()
            )
            if job is None:
                log.warning("job_claim_lost", job_id=str(run.id))
                return
            job.result = result
            job.result_key = result_key
            _finish(uow.session, job, status, self.clock.now(), error=error)
            await uow.commit()
        log.info("job_finished", job_id=str(run.id), type=run.type, status=status.value)

    async def _retry_or_fail(self, run: JobRun) -> None:
        """After an unexpected error: again later (from the last checkpoint), or failed."""
        async with self.database.session() as session:
            attempts = await session.scalar(select(Job.attempts).where(Job.id == run.id))
        if attempts is not None and attempts < self.max_attempts:
            await self._release(run, delay=timedelta(seconds=5 * attempts))
        else:
            await self._complete(run, JobStatus.FAILED, error=INTERNAL_ERROR)

    async def _release(self, run: JobRun, *, delay: timedelta | None) -> None:
        """Give the job back: at once (queued), or after `delay` (its lease runs out then)."""
        values: dict[str, Any] = (
            {"status": JobStatus.QUEUED.value, "claim": None, "lease_until": None}
            if delay is None
            else {"claim": None, "lease_until": self.clock.now() + delay}
        )
        async with self.database.unit_of_work() as uow:
            await uow.session.execute(
                update(Job).where(Job.id == run.id, Job.claim == run._claim).values(**values)
            )
            await uow.commit()


def _finish(
    session: AsyncSession,
    job: Job,
    status: JobStatus,
    now: Any,
    *,
    error: dict[str, Any] | None = None,
) -> None:
    job.status = status.value
    job.error = error
    job.claim = None
    job.lease_until = None
    job.finished_at = now
    if status is JobStatus.SUCCEEDED:
        if job.progress_total is not None:
            job.progress_done = job.progress_total
        events.record(session, JobSucceeded(id=job.id, type=job.type, result=job.result))
    else:
        events.record(session, JobFailed(id=job.id, type=job.type, error=error or {}))


async def _settle(bookkeeping: Awaitable[None]) -> None:
    try:
        await bookkeeping
    except Exception as error:  # the lease runs out and another worker takes the job
        log.warning("job_not_released", error=str(error)[:200])
