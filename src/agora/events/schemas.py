"""What `GET /events` answers with."""

import uuid
from datetime import datetime
from typing import Any

from agora.platform.schemas import ApiModel


class EventRead(ApiModel):
    id: uuid.UUID
    type: str
    subject_type: str
    subject_id: str
    payload: dict[str, Any]
    occurred_at: datetime
    request_id: str | None
