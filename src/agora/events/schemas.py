"""What `GET /events` answers with."""

import uuid
from datetime import datetime
from typing import Any

from agora.platform.schemas import ApiModel


class EventRead(ApiModel):
    id: uuid.UUID
    type: str
    version: int
    subject_type: str
    subject_id: str
    payload: dict[str, Any]
    occurred_at: datetime
    request_id: str | None
    published_at: datetime | None


class OutboxRead(ApiModel):
    pending: int
    """Events committed but not yet published."""
    oldest_at: datetime | None
    """When the oldest of them happened."""
    lag_seconds: float
    """Its age: how far behind publishing is (0 when nothing waits)."""
