"""Background jobs: bulk work answered with 202 and read at `GET /jobs/{id}`.

Other contexts use this face: they queue jobs with `JobQueue.submit` in their own
transaction, and hand the runner a `JobHandler` per job type, which reads its `JobRun`,
checkpoints its progress with its work, and returns a `JobOutcome` (or raises `JobError`).
"""

from agora.jobs.api import job_path, job_read
from agora.jobs.errors import JobError, LostClaim
from agora.jobs.models import Job
from agora.jobs.runner import JobHandler, JobOutcome, JobRun
from agora.jobs.schemas import JobRead
from agora.jobs.service import JobQueue

__all__ = [
    "Job",
    "JobError",
    "JobHandler",
    "JobOutcome",
    "JobQueue",
    "JobRead",
    "JobRun",
    "LostClaim",
    "job_path",
    "job_read",
]
