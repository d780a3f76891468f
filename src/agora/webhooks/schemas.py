"""Webhook DTOs. The signing secret appears only in the two answers that hand one over
(`WebhookEndpointCreated`, `SecretRotated`)."""

import uuid
from datetime import datetime
from typing import Any

from pydantic import Field, StrictBool

from agora.platform.schemas import ApiInput, ApiModel
from agora.webhooks.addresses import MAX_URL_LENGTH

Url = Field(
    default=...,
    min_length=1,
    max_length=MAX_URL_LENGTH,
    description="http or https; it must resolve to public addresses.",
    examples=["https://shop.example/hooks/agora"],
)
EventTypes = Field(
    min_length=1,
    max_length=50,
    description='Event types to receive (see `GET /events`), or `["*"]` for all.',
    examples=[["order.paid", "refund.created"]],
)
Description = Field(default="", max_length=500)


class WebhookEndpointCreate(ApiInput):
    url: str = Url
    events: list[str] = EventTypes
    description: str = Description


class WebhookEndpointUpdate(ApiInput):
    url: str | None = Field(default=None, min_length=1, max_length=MAX_URL_LENGTH)
    events: list[str] | None = Field(default=None, min_length=1, max_length=50)
    description: str | None = Field(default=None, max_length=500)
    enabled: StrictBool | None = Field(
        default=None, description="Enable a disabled endpoint again, or pause one."
    )


class WebhookEndpointRead(ApiModel):
    id: uuid.UUID
    url: str
    events: list[str]
    description: str
    enabled: bool
    disabled_reason: str | None = Field(description="manual, gone (it answered 410) or failing.")
    created_at: datetime
    updated_at: datetime


class WebhookEndpointCreated(WebhookEndpointRead):
    secret: str = Field(
        description="The signing secret (`whsec_...`). Shown this once.", pattern=r"^whsec_"
    )


class SecretRotated(ApiModel):
    secret: str = Field(description="The new signing secret. Shown this once.")
    previous_secret_expires_at: datetime = Field(
        description="Until then the previous secret signs every delivery too."
    )


class AttemptRead(ApiModel):
    number: int
    attempted_at: datetime
    duration_ms: int
    outcome: str = Field(
        description="succeeded, http_error, timeout, connection_error or refused_address."
    )
    status_code: int | None
    response_body: str | None = Field(description="The first 1,024 characters of the answer.")
    error: str | None


class WebhookDeliveryRead(ApiModel):
    id: uuid.UUID
    endpoint_id: uuid.UUID
    message_id: str = Field(description="The `webhook-id` header: the same on every attempt.")
    event_id: uuid.UUID | None
    event_type: str
    status: str = Field(description="pending, succeeded or failed.")
    attempt_count: int
    next_attempt_at: datetime | None
    created_at: datetime
    payload: dict[str, Any]
    attempts: list[AttemptRead]
