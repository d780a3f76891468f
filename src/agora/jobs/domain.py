"""Job rules that need no I/O: the statuses, and who may read a job."""

import uuid
from enum import StrEnum

from agora.platform.security import Principal, Role


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


def may_read(viewer: Principal, owner_id: uuid.UUID) -> bool:
    """A job is its creator's and the admins' (others get 404: its existence is not theirs)."""
    return viewer.id == owner_id or viewer.has_role(Role.ADMIN)
