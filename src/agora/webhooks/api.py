"""Webhook endpoints, their deliveries, redeliveries and test events (admins, or API keys with
`webhooks:write`)."""

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request, Response

from agora.platform.envelope import Envelope, page_of
from agora.platform.pagination import SortField
from agora.platform.querying import CollectionQuery, CollectionSpec, Filter, collection_query
from agora.platform.responses import json_response, location, page_response
from agora.platform.routing import api_router
from agora.platform.schemas import api_fields
from agora.platform.security import Role, Scope, authorize
from agora.webhooks.models import WebhookDelivery, WebhookEndpoint
from agora.webhooks.schemas import (
    SecretRotated,
    WebhookDeliveryRead,
    WebhookEndpointCreate,
    WebhookEndpointCreated,
    WebhookEndpointRead,
    WebhookEndpointUpdate,
)
from agora.webhooks.service import WebhookService

ENDPOINTS = CollectionSpec(
    name="webhook endpoints",
    filters=(
        Filter("enabled", bool, lambda value: WebhookEndpoint.enabled.is_(value), "true or false"),
    ),
    sorts=(SortField("createdAt", WebhookEndpoint.created_at, datetime),),
    default_sort="-createdAt",
    tiebreaker=SortField("id", WebhookEndpoint.id, uuid.UUID),
    fields=api_fields(WebhookEndpointRead),
)
DELIVERIES = CollectionSpec(
    name="webhook deliveries",
    filters=(
        Filter(
            "status",
            str,
            lambda value: WebhookDelivery.status == value,
            "pending, succeeded or failed",
        ),
        Filter(
            "eventType", str, lambda value: WebhookDelivery.event_type == value, "e.g. order.paid"
        ),
    ),
    sorts=(SortField("id", WebhookDelivery.id, uuid.UUID),),
    default_sort="-id",
    tiebreaker=SortField("id", WebhookDelivery.id, uuid.UUID),
    fields=api_fields(WebhookDeliveryRead),
)


async def webhook_service(request: Request) -> WebhookService:
    service: WebhookService = request.app.state.webhooks.service
    return service


Webhooks = Annotated[WebhookService, Depends(webhook_service)]
Admin = authorize(Role.ADMIN, scope=Scope.WEBHOOKS_WRITE)
EndpointsQuery = Annotated[CollectionQuery, collection_query(ENDPOINTS)]
DeliveriesQuery = Annotated[CollectionQuery, collection_query(DELIVERIES)]

router = api_router(prefix="/api/v1", tags=["webhooks"], dependencies=[Admin])
ENDPOINT = "/webhook-endpoints/{endpoint_id:uuid}"


def _endpoint(endpoint: WebhookEndpoint) -> Response:
    return json_response(Envelope(data=WebhookEndpointRead.model_validate(endpoint)))


def _delivery(delivery: WebhookDelivery) -> Response:
    return json_response(
        Envelope(data=WebhookDeliveryRead.model_validate(delivery)), status_code=202, etag=False
    )


@router.post("/webhook-endpoints", status_code=201, response_model=Envelope[WebhookEndpointCreated])
async def create_webhook_endpoint(
    body: WebhookEndpointCreate, request: Request, webhooks: Webhooks
) -> Response:
    """Register a URL for events; the signing secret is shown only in this answer."""
    endpoint, secret = await webhooks.create(body)
    created = WebhookEndpointCreated.model_validate(
        {**WebhookEndpointRead.model_validate(endpoint).model_dump(), "secret": secret}
    )
    return json_response(
        Envelope(data=created),
        status_code=201,
        etag=False,
        headers={"Location": location(request, f"/api/v1/webhook-endpoints/{endpoint.id}")},
    )


@router.get("/webhook-endpoints", response_model=page_of(WebhookEndpointRead))
async def list_webhook_endpoints(query: EndpointsQuery, webhooks: Webhooks) -> Response:
    """Registered endpoints, newest first, without their secrets."""
    return page_response(await webhooks.list(query), WebhookEndpointRead, query)


@router.get(ENDPOINT, response_model=Envelope[WebhookEndpointRead])
async def get_webhook_endpoint(endpoint_id: uuid.UUID, webhooks: Webhooks) -> Response:
    """One endpoint."""
    return _endpoint(await webhooks.get(endpoint_id))


@router.patch(ENDPOINT, response_model=Envelope[WebhookEndpointRead])
async def update_webhook_endpoint(
    endpoint_id: uuid.UUID, body: WebhookEndpointUpdate, webhooks: Webhooks
) -> Response:
    """Change the URL, the events or the description; `enabled` pauses or resumes it."""
    return _endpoint(await webhooks.update(endpoint_id, body))


@router.delete(ENDPOINT, status_code=204)
async def delete_webhook_endpoint(endpoint_id: uuid.UUID, webhooks: Webhooks) -> Response:
    """Remove an endpoint and its delivery log; nothing more is sent to it."""
    await webhooks.delete(endpoint_id)
    return Response(status_code=204)


@router.post(
    ENDPOINT + "/secret-rotations", status_code=201, response_model=Envelope[SecretRotated]
)
async def rotate_webhook_secret(endpoint_id: uuid.UUID, webhooks: Webhooks) -> Response:
    """A new signing secret, shown once; the old one keeps signing too for 24 hours."""
    rotation = await webhooks.rotate_secret(endpoint_id)
    return json_response(
        Envelope(data=SecretRotated.model_validate(rotation)), status_code=201, etag=False
    )


@router.post(
    ENDPOINT + "/test-events", status_code=202, response_model=Envelope[WebhookDeliveryRead]
)
async def send_webhook_test_event(endpoint_id: uuid.UUID, webhooks: Webhooks) -> Response:
    """Send a `webhook.test` event to this endpoint now; its delivery is in the log."""
    return _delivery(await webhooks.send_test(endpoint_id))


@router.get(ENDPOINT + "/deliveries", response_model=page_of(WebhookDeliveryRead))
async def list_webhook_deliveries(
    endpoint_id: uuid.UUID, query: DeliveriesQuery, webhooks: Webhooks
) -> Response:
    """What was sent to this endpoint, newest first, with every attempt (status, duration, the
    start of the answer)."""
    return page_response(await webhooks.deliveries(endpoint_id, query), WebhookDeliveryRead, query)


@router.post(
    "/webhook-deliveries/{delivery_id:uuid}/redeliveries",
    status_code=202,
    response_model=Envelope[WebhookDeliveryRead],
)
async def redeliver_webhook(delivery_id: uuid.UUID, webhooks: Webhooks) -> Response:
    """Send a delivery again, with the same `webhook-id`, retried as a new one would be."""
    return _delivery(await webhooks.redeliver(delivery_id))
