"""`GET /events`: the event log, read from the outbox (admins, or API keys with events:read)."""

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import Request, Response
from sqlalchemy import select

from agora.platform.envelope import page_of
from agora.platform.events import EventRecord
from agora.platform.pagination import SortField
from agora.platform.querying import CollectionQuery, CollectionSpec, Filter, collection_query
from agora.platform.responses import page_response
from agora.platform.routing import api_router
from agora.platform.runtime import RuntimeDep
from agora.platform.schemas import ApiModel, api_fields
from agora.platform.security import Principal, Role, Scope, authorize


class EventRead(ApiModel):
    id: uuid.UUID
    type: str
    subject_type: str
    subject_id: str
    payload: dict[str, Any]
    occurred_at: datetime
    request_id: str | None


EVENTS = CollectionSpec(
    name="events",
    filters=(
        Filter("type", str, lambda value: EventRecord.type == value, "e.g. order.created"),
        Filter("subjectType", str, lambda value: EventRecord.subject_type == value, "e.g. order"),
        Filter(
            "subjectId", str, lambda value: EventRecord.subject_id == value, "The subject's id."
        ),
    ),
    sorts=(SortField("id", EventRecord.id, uuid.UUID),),
    default_sort="-id",
    tiebreaker=SortField("id", EventRecord.id, uuid.UUID),
    fields=api_fields(EventRead),
)
EventsQuery = Annotated[CollectionQuery, collection_query(EVENTS)]

router = api_router(prefix="/api/v1", tags=["events"])


@router.get("/events", response_model=page_of(EventRead))
async def list_events(
    request: Request,
    query: EventsQuery,
    runtime: RuntimeDep,
    _: Annotated[Principal, authorize(Role.ADMIN, scope=Scope.EVENTS_READ)],
) -> Response:
    """What happened, newest first (ids are time-ordered); filter by type or subject."""
    pager = query.paginator
    base = query.where(select(EventRecord))
    async with runtime.database.session() as session:
        rows = list((await session.scalars(pager.statement(base))).all())
        total = None
        if pager.needs_total:
            total = int((await session.execute(pager.count_statement(base))).scalar_one())
    return page_response(request, pager.result(rows, total), EventRead, query)
