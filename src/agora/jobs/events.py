"""What the jobs context announces: a job was queued (workers wake on it), then its outcome."""

import uuid

from agora.platform.events import Event


class _JobEvent(Event):
    SUBJECT = "job"

    id: uuid.UUID
    type: str

    def subject_id(self) -> str:
        return str(self.id)


class JobQueued(_JobEvent):
    TYPE = "job.queued"


class JobSucceeded(_JobEvent):
    TYPE = "job.succeeded"

    result: dict[str, object] | None


class JobFailed(_JobEvent):
    TYPE = "job.failed"

    error: dict[str, object]
