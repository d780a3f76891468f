"""`GET /jobs/{id}` (its creator or an admin) and the signed download of a job's result."""

import uuid
from typing import Annotated

from fastapi import Depends, Query, Request, Response

from agora.jobs.models import Job
from agora.jobs.schemas import JobErrorRead, JobRead, Progress
from agora.jobs.service import JobService
from agora.platform.envelope import Envelope
from agora.platform.responses import json_response, location
from agora.platform.routing import api_router
from agora.platform.security import CurrentPrincipal
from agora.platform.storage import Storage

router = api_router(prefix="/api/v1", tags=["jobs"])


async def job_service(request: Request) -> JobService:
    service: JobService = request.app.state.jobs.service
    return service


Jobs = Annotated[JobService, Depends(job_service)]


def job_path(job_id: uuid.UUID) -> str:
    return f"/api/v1/jobs/{job_id}"


def job_read(request: Request, job: Job, result_query: str | None = None) -> JobRead:
    """A job as the API shows it; `result_query` signs its result link, if it has one."""
    query = result_query
    return JobRead(
        id=job.id,
        type=job.type,
        status=job.status,
        progress=Progress(done=job.progress_done, total=job.progress_total),
        result=job.result,
        result_url=(
            None if query is None else location(request, f"{job_path(job.id)}/result?{query}")
        ),
        error=None if job.error is None else JobErrorRead.model_validate(job.error),
        created_at=job.created_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
    )


@router.get("/jobs/{job_id:uuid}", response_model=Envelope[JobRead])
async def get_job(
    job_id: uuid.UUID, request: Request, viewer: CurrentPrincipal, jobs: Jobs
) -> Response:
    """A job's status, progress and outcome (404 unless you created it or are an admin)."""
    job = await jobs.get(job_id, viewer)
    read = job_read(request, job, jobs.result_query(job))
    return json_response(Envelope(data=read), etag=False)


@router.get(
    "/jobs/{job_id:uuid}/result",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}, "description": "The result file."}},
)
async def download_job_result(
    job_id: uuid.UUID,
    request: Request,
    jobs: Jobs,
    expires: Annotated[int, Query(ge=0, le=2**40)],
    signature: Annotated[str, Query(pattern=r"^[A-Za-z0-9_-]{1,100}$")],
) -> Response:
    """A job's result file, through the signed, expiring link in its `resultUrl` (no token
    needed: the link is the permission). 404 once it expired."""
    key = await jobs.result_key(job_id, expires, signature)
    storage: Storage = request.app.state.runtime.storage
    response = storage.serve(key, "text/csv; charset=utf-8", "private, no-store")
    response.headers["Content-Disposition"] = f'attachment; filename="{job_id}.csv"'
    return response
