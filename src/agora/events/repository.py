"""Reading the outbox as a collection: filters by type and subject, newest first."""

import uuid

from sqlalchemy import select

from agora.events.schemas import EventRead
from agora.platform.db import Database
from agora.platform.events import EventRecord
from agora.platform.pagination import PageResult, SortField
from agora.platform.querying import CollectionQuery, CollectionSpec, Filter
from agora.platform.schemas import api_fields

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


class EventLog:
    def __init__(self, database: Database) -> None:
        self.database = database

    async def page(self, query: CollectionQuery) -> PageResult[EventRecord]:
        async with self.database.session() as session:
            return await query.paginator.fetch(session, query.where(select(EventRecord)))
