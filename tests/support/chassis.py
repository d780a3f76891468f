"""Routes that exist only in tests, to drive the chassis the way business modules will.

They use the platform exactly as a module does (router, DTOs, session, collection queries,
json_response), on a scratch table outside Agora's own metadata.
"""

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Any

from fastapi import FastAPI, File, Request, UploadFile
from pydantic import Field, StrictInt
from sqlalchemy import Column, Integer, MetaData, String, Table, Uuid, insert, select, text
from starlette.responses import Response

from agora.app import create_app
from agora.platform.db import SessionDep, UTCDateTime, utcnow
from agora.platform.envelope import Envelope, Page
from agora.platform.errors import RuleViolation
from agora.platform.http.caching import public
from agora.platform.ids import new_id
from agora.platform.pagination import SortField
from agora.platform.querying import CollectionQuery, CollectionSpec, Filter, collection_query
from agora.platform.responses import json_response, sparse_include
from agora.platform.routing import api_router
from agora.platform.schemas import ApiInput, ApiModel

scratch = MetaData()
items = Table(
    "chassis_items",
    scratch,
    Column("id", Uuid, primary_key=True),
    Column("name", String(100), nullable=False),
    Column("price_cents", Integer, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
)

ITEMS = CollectionSpec(
    name="chassis-items",
    filters=(
        Filter("minPriceCents", int, lambda value: items.c.price_cents >= value),
        Filter("nameStartsWith", str, lambda value: items.c.name.startswith(value)),
    ),
    sorts=(
        SortField("createdAt", items.c.created_at, datetime),
        SortField("name", items.c.name, str),
        SortField("priceCents", items.c.price_cents, int),
    ),
    default_sort="-createdAt",
    tiebreaker=SortField("id", items.c.id, uuid.UUID),
    fields=frozenset({"id", "name", "priceCents", "createdAt"}),
)
ItemsQuery = Annotated[CollectionQuery, collection_query(ITEMS)]


class Address(ApiInput):
    city: str = Field(min_length=1)
    postal_code: str = Field(pattern=r"^[0-9A-Z -]{3,10}$")


class EchoIn(ApiInput):
    name: str = Field(min_length=1, max_length=50)
    quantity: StrictInt = Field(ge=1, le=100)
    tags: list[str] = Field(default_factory=list, max_length=5)
    address: Address | None = None


class ItemIn(ApiInput):
    name: str = Field(min_length=1, max_length=100)
    price_cents: StrictInt = Field(ge=0)


class ItemRead(ApiModel):
    id: uuid.UUID
    name: str
    price_cents: int
    created_at: datetime


class UploadRead(ApiModel):
    filename: str
    size: int


router = api_router(prefix="/api/v1/_chassis", tags=["chassis (tests only)"])


@router.post("/echo", status_code=201)
async def echo(body: EchoIn) -> Envelope[EchoIn]:
    return Envelope(data=body)


@router.post("/rules")
async def break_rule(body: EchoIn) -> Envelope[EchoIn]:
    raise RuleViolation(f"Only 0 of {body.name} left.", code="insufficient_stock", field="quantity")


@router.get("/boom")
async def boom() -> Envelope[dict[str, Any]]:
    raise RuntimeError("SELECT password_hash FROM users WHERE id = 42")


@router.get("/db")
async def ping_database(session: SessionDep) -> Envelope[dict[str, Any]]:
    value = (await session.execute(text("SELECT 1"))).scalar_one()
    return Envelope(data={"value": value})


@router.get("/slow-query")
async def slow_query(session: SessionDep) -> Envelope[dict[str, Any]]:
    """A statement that outlives its timeout (PostgreSQL)."""
    await session.execute(text("SET LOCAL statement_timeout = 50"))
    await session.execute(text("SELECT pg_sleep(2)"))
    return Envelope(data={})


@router.get("/bad-sql")
async def bad_sql(session: SessionDep) -> Envelope[dict[str, Any]]:
    await session.execute(text("SELECT secret FROM no_such_table"))
    return Envelope(data={})


@router.get("/whoami")
async def whoami(request: Request) -> Envelope[dict[str, Any]]:
    client = request.client.host if request.client else None
    return Envelope(data={"client": client, "scheme": request.url.scheme})


@router.get("/large")
async def large() -> Envelope[list[str]]:
    return Envelope(data=[f"line {n} of a long and very compressible answer" for n in range(400)])


@router.post("/upload", status_code=201)
async def upload(file: Annotated[UploadFile, File()]) -> Envelope[UploadRead]:
    content = await file.read()
    return Envelope(data=UploadRead(filename=file.filename or "", size=len(content)))


@router.get("/items", response_model=Page[ItemRead])
async def list_items(session: SessionDep, query: ItemsQuery) -> Response:
    async def fetch_all(statement: Any) -> Sequence[Any]:
        return (await session.execute(statement)).all()

    page = await query.paginator.fetch_rows(fetch_all, query.where(select(items)))
    body = Page[ItemRead](data=[ItemRead.model_validate(row) for row in page.items], meta=page.meta)
    return json_response(
        body,
        cache_control=public(60),
        include=sparse_include(ItemRead, query.fields, many=True),
    )


@router.post("/items", status_code=201)
async def create_item(body: ItemIn, session: SessionDep) -> Envelope[ItemRead]:
    row = {
        "id": new_id(),
        "name": body.name,
        "price_cents": body.price_cents,
        "created_at": utcnow(),
    }
    await session.execute(insert(items).values(**row))
    await session.commit()
    return Envelope(data=ItemRead.model_validate(row))


def create_chassis_app() -> FastAPI:
    """Agora from the environment's settings, plus these routes (for real-server tests)."""
    app = create_app()
    app.include_router(router)
    return app
