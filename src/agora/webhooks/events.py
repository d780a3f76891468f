"""What the webhooks context announces."""

import uuid

from agora.platform.events import Event


class WebhookEndpointDisabled(Event):
    """Agora stopped delivering to an endpoint: it answered 410 Gone (`reason: gone`), or every
    attempt failed for `AGORA_WEBHOOK_DISABLE_AFTER_HOURS` (`failing`)."""

    TYPE = "webhook_endpoint.disabled"
    SUBJECT = "webhook_endpoint"

    id: uuid.UUID
    url: str
    """Scheme, host and path only: a query string may hold the receiver's token."""
    reason: str

    def subject_id(self) -> str:
        return str(self.id)
