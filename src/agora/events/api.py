"""`GET /events`: the event log (admins, or API keys with `events:read`)."""

from typing import Annotated

from fastapi import Depends, Request, Response

from agora.events.repository import EVENTS, EventLog
from agora.events.schemas import EventRead
from agora.platform.envelope import page_of
from agora.platform.querying import CollectionQuery, collection_query
from agora.platform.responses import page_response
from agora.platform.routing import api_router
from agora.platform.security import Principal, Role, Scope, authorize

EventsQuery = Annotated[CollectionQuery, collection_query(EVENTS)]


async def event_log(request: Request) -> EventLog:
    log: EventLog = request.app.state.events
    return log


router = api_router(prefix="/api/v1", tags=["events"])


@router.get("/events", response_model=page_of(EventRead))
async def list_events(
    query: EventsQuery,
    log: Annotated[EventLog, Depends(event_log)],
    _: Annotated[Principal, authorize(Role.ADMIN, scope=Scope.EVENTS_READ)],
) -> Response:
    """What happened, newest first (ids are time-ordered); filter by type or subject."""
    return page_response(await log.page(query), EventRead, query)
