"""Job DTOs."""

import uuid
from datetime import datetime
from typing import Any

from agora.platform.schemas import ApiModel


class Progress(ApiModel):
    done: int
    total: int | None


class JobErrorRead(ApiModel):
    code: str
    message: str
    field: str | None = None


class JobRead(ApiModel):
    id: uuid.UUID
    type: str
    status: str
    progress: Progress
    result: dict[str, Any] | None
    result_url: str | None
    """A signed link to the result file, valid for a while (ask again for a fresh one)."""
    error: JobErrorRead | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
