"""Managing webhook endpoints and their deliveries (admins, or API keys with `webhooks:write`)."""

import asyncio
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from agora.platform.clock import Clock
from agora.platform.db import Database
from agora.platform.errors import FieldError, RuleViolation
from agora.platform.events import EVENT_TYPES
from agora.platform.ids import new_id
from agora.platform.pagination import PageResult
from agora.platform.querying import CollectionQuery
from agora.webhooks.addresses import AddressGuard, RefusedUrl, parse
from agora.webhooks.consumers import payload_of, wire_time
from agora.webhooks.errors import (
    WebhookDeliveryNotFound,
    WebhookEndpointDisabled,
    WebhookEndpointNotFound,
)
from agora.webhooks.models import WebhookDelivery, WebhookEndpoint
from agora.webhooks.schemas import WebhookEndpointCreate, WebhookEndpointUpdate
from agora.webhooks.signing import SecretBox, new_secret

TEST_EVENT = "webhook.test"
RESOLVE_SECONDS = 5.0
"""How long registering waits for the URL's name to resolve."""
ROTATION_OVERLAP = timedelta(hours=24)
"""How long a replaced secret keeps signing, so receivers can switch without losing events."""


@dataclass(frozen=True)
class Rotation:
    secret: str
    previous_secret_expires_at: datetime


class WebhookService:
    def __init__(
        self,
        database: Database,
        clock: Clock,
        guard: AddressGuard,
        box: SecretBox,
        *,
        window: timedelta,
        wake: Callable[[], None],
    ) -> None:
        self.database = database
        self.clock = clock
        self.guard = guard
        self.box = box
        self.window = window
        self.wake = wake

    async def create(self, body: WebhookEndpointCreate) -> tuple[WebhookEndpoint, str]:
        await _check(self.guard, body.url, body.events)
        events = list(dict.fromkeys(body.events))
        secret = new_secret()
        async with self.database.unit_of_work() as uow:
            endpoint = WebhookEndpoint(
                url=body.url,
                events=events,
                description=body.description,
                secret=self.box.seal(secret),
            )
            uow.session.add(endpoint)
            await uow.commit()
        return endpoint, secret

    async def list(self, query: CollectionQuery) -> PageResult[WebhookEndpoint]:
        async with self.database.session() as session:
            return await query.paginator.fetch(session, query.where(select(WebhookEndpoint)))

    async def get(self, endpoint_id: uuid.UUID) -> WebhookEndpoint:
        async with self.database.session() as session:
            return await _endpoint(session, endpoint_id)

    async def update(
        self, endpoint_id: uuid.UUID, changes: WebhookEndpointUpdate
    ) -> WebhookEndpoint:
        await _check(self.guard, changes.url, changes.events)
        events = list(dict.fromkeys(changes.events)) if changes.events is not None else None
        async with self.database.unit_of_work() as uow:
            endpoint = await _endpoint(uow.session, endpoint_id)
            if changes.url is not None:
                endpoint.url = changes.url
            if events is not None:
                endpoint.events = events
            if changes.description is not None:
                endpoint.description = changes.description
            if changes.enabled is True and not endpoint.enabled:
                endpoint.enabled, endpoint.disabled_reason, endpoint.failing_since = (
                    True,
                    None,
                    None,
                )
            elif changes.enabled is False and endpoint.enabled:
                endpoint.enabled, endpoint.disabled_reason = False, "manual"
            await uow.commit()
        if changes.enabled:
            self.wake()  # what waited for it is due
        return endpoint

    async def delete(self, endpoint_id: uuid.UUID) -> None:
        """Remove an endpoint; its deliveries and attempts go with it (ON DELETE CASCADE)."""
        async with self.database.unit_of_work() as uow:
            gone = await uow.session.execute(
                delete(WebhookEndpoint).where(WebhookEndpoint.id == endpoint_id)
            )
            if not gone.rowcount:  # type: ignore[attr-defined]
                raise WebhookEndpointNotFound()
            await uow.commit()

    async def rotate_secret(self, endpoint_id: uuid.UUID) -> Rotation:
        secret = new_secret()
        expires = self.clock.now() + ROTATION_OVERLAP
        async with self.database.unit_of_work() as uow:
            endpoint = await _endpoint(uow.session, endpoint_id)
            endpoint.previous_secret = endpoint.secret
            endpoint.previous_secret_expires_at = expires
            endpoint.secret = self.box.seal(secret)
            await uow.commit()
        return Rotation(secret, expires)

    async def send_test(self, endpoint_id: uuid.UUID) -> WebhookDelivery:
        """Queue a `webhook.test` event for one endpoint, now."""
        now = self.clock.now()
        message_id = new_id()
        async with self.database.unit_of_work() as uow:
            endpoint = await _endpoint(uow.session, endpoint_id)
            if not endpoint.enabled:
                raise WebhookEndpointDisabled()
            delivery = WebhookDelivery(
                endpoint_id=endpoint_id,
                message_id=str(message_id),
                event_type=TEST_EVENT,
                payload=payload_of(TEST_EVENT, wire_time(now), {"endpointId": str(endpoint_id)}),
                next_attempt_at=now,
                retry_until=now + self.window,
                attempts=[],
            )
            uow.session.add(delivery)
            await uow.commit()
        self.wake()
        return delivery

    async def deliveries(
        self, endpoint_id: uuid.UUID, query: CollectionQuery
    ) -> PageResult[WebhookDelivery]:
        async with self.database.session() as session:
            await _endpoint(session, endpoint_id)
            return await query.paginator.fetch(
                session,
                query.where(
                    select(WebhookDelivery)
                    .where(WebhookDelivery.endpoint_id == endpoint_id)
                    .options(selectinload(WebhookDelivery.attempts))
                ),
            )

    async def redeliver(self, delivery_id: uuid.UUID) -> WebhookDelivery:
        """Send a delivery again (same `webhook-id`), with a new retry window."""
        now = self.clock.now()
        async with self.database.unit_of_work() as uow:
            delivery = await uow.session.scalar(
                select(WebhookDelivery)
                .where(WebhookDelivery.id == delivery_id)
                .options(selectinload(WebhookDelivery.attempts))
            )
            if delivery is None:
                raise WebhookDeliveryNotFound()
            endpoint = await _endpoint(uow.session, delivery.endpoint_id)
            if not endpoint.enabled:
                raise WebhookEndpointDisabled()
            delivery.status = "pending"
            delivery.next_attempt_at = now
            delivery.retry_until = now + self.window
            delivery.claim = delivery.claimed_until = None
            await uow.commit()
        self.wake()
        return delivery


async def _endpoint(session: AsyncSession, endpoint_id: uuid.UUID) -> WebhookEndpoint:
    endpoint = await session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None:
        raise WebhookEndpointNotFound()
    return endpoint


async def _check(guard: AddressGuard, url: str | None, events: list[str] | None) -> None:
    """422 naming every problem: a URL deliveries may not reach, unknown event types."""
    problems: list[FieldError] = []
    if url is not None:
        try:
            async with asyncio.timeout(RESOLVE_SECONDS):
                await guard.resolve(parse(url))
        except TimeoutError:
            problems.append(FieldError("url", "url_unresolvable", "The host did not resolve."))
        except RefusedUrl as refused:
            problems.append(FieldError("url", refused.code, refused.message))
    if events is not None:
        known = set(EVENT_TYPES) | {"*"}
        problems += [
            FieldError(f"events[{index}]", "unknown_event_type", f"No event type {name!r}.")
            for index, name in enumerate(events)
            if name not in known
        ]
    if problems:
        raise RuleViolation(problems[0].message, errors=problems)
