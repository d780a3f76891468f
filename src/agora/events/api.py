"""`GET /events`: the event log, and `GET /outbox`: how far publishing is behind (admins, or API
keys with `events:read`)."""

from typing import Annotated

from fastapi import Depends, Request, Response

from agora.events.repository import EVENTS, EventLog
from agora.events.schemas import EventRead, OutboxRead
from agora.platform.envelope import Envelope, page_of
from agora.platform.outbox import Relay
from agora.platform.querying import CollectionQuery, collection_query
from agora.platform.responses import json_response, page_response
from agora.platform.routing import api_router
from agora.platform.security import Principal, Role, Scope, authorize

EventsQuery = Annotated[CollectionQuery, collection_query(EVENTS)]


async def event_log(request: Request) -> EventLog:
    log: EventLog = request.app.state.events.log
    return log


async def outbox_relay(request: Request) -> Relay:
    found: Relay = request.app.state.events.relay
    return found


router = api_router(prefix="/api/v1", tags=["events"])


@router.get("/events", response_model=page_of(EventRead))
async def list_events(
    query: EventsQuery,
    log: Annotated[EventLog, Depends(event_log)],
    _: Annotated[Principal, authorize(Role.ADMIN, scope=Scope.EVENTS_READ)],
) -> Response:
    """What happened, newest first (ids are time-ordered); filter by type or subject."""
    return page_response(await log.page(query), EventRead, query)


@router.get("/outbox", response_model=Envelope[OutboxRead])
async def get_outbox(
    relay: Annotated[Relay, Depends(outbox_relay)],
    _: Annotated[Principal, authorize(Role.ADMIN, scope=Scope.EVENTS_READ)],
) -> Response:
    """How far publishing is behind: events not yet handed to the broker, the oldest one's age."""
    lag = await relay.lag()
    return json_response(Envelope(data=OutboxRead.model_validate(lag)))
