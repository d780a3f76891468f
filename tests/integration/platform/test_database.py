"""The database layer on the real engine: units of work, concurrent writers, UTC timestamps."""

import asyncio
from datetime import UTC, datetime, timedelta, timezone

import pytest
from fastapi import FastAPI
from sqlalchemy import (
    Column,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    insert,
    select,
    text,
    update,
)

from agora.platform.db import Database, UTCDateTime, utcnow
from agora.platform.ids import new_id
from agora.settings import Settings

scratch = MetaData()
counters = Table(
    "db_test_counters",
    scratch,
    Column("name", String(40), primary_key=True),
    Column("value", Integer, nullable=False),
)
moments = Table(
    "db_test_moments",
    scratch,
    Column("name", String(40), primary_key=True),
    Column("at", UTCDateTime(), nullable=False),
    Column("raw", DateTime(timezone=True), nullable=True),
)


@pytest.fixture(scope="module")
async def database(chassis_app: FastAPI) -> Database:
    db: Database = chassis_app.state.runtime.database
    async with db.engine.begin() as connection:
        await connection.run_sync(scratch.create_all)
    return db


async def test_unit_of_work_commits_only_when_told(database: Database) -> None:
    async with database.unit_of_work() as uow:
        await uow.session.execute(insert(counters).values(name="kept", value=1))
        await uow.commit()
    async with database.unit_of_work() as uow:
        await uow.session.execute(insert(counters).values(name="dropped", value=1))
        # leaving without commit rolls back
    with pytest.raises(RuntimeError):
        async with database.unit_of_work() as uow:
            await uow.session.execute(insert(counters).values(name="failed", value=1))
            raise RuntimeError("use case failed")
    async with database.session() as session:
        names = set((await session.execute(select(counters.c.name))).scalars())
    assert "kept" in names
    assert not {"dropped", "failed"} & names


async def test_concurrent_read_modify_write_units_lose_nothing(database: Database) -> None:
    """40 concurrent units of work each read a counter and write it back incremented.

    On SQLite the write lock is taken at BEGIN (no failed lock upgrades); on PostgreSQL the row
    lock (`FOR UPDATE`) serializes them. Either way no increment is lost.
    """
    name = f"c-{new_id().hex[:8]}"
    async with database.unit_of_work() as uow:
        await uow.session.execute(insert(counters).values(name=name, value=0))
        await uow.commit()

    async def increment() -> None:
        async with database.unit_of_work() as uow:
            current = (
                await uow.session.execute(
                    select(counters.c.value).where(counters.c.name == name).with_for_update()
                )
            ).scalar_one()
            await asyncio.sleep(0)  # let the others run in between, as real I/O would
            await uow.session.execute(
                update(counters).where(counters.c.name == name).values(value=current + 1)
            )
            await uow.commit()

    await asyncio.gather(*(increment() for _ in range(40)))
    async with database.session() as session:
        value = (
            await session.execute(select(counters.c.value).where(counters.c.name == name))
        ).scalar_one()
    assert value == 40


async def test_timestamps_come_back_as_aware_utc(database: Database) -> None:
    oslo = timezone(timedelta(hours=1))
    local = datetime(2026, 3, 1, 12, 30, 15, 123456, tzinfo=oslo)
    name = f"m-{new_id().hex[:8]}"
    async with database.unit_of_work() as uow:
        await uow.session.execute(insert(moments).values(name=name, at=local))
        await uow.commit()
    async with database.session() as session:
        stored = (
            await session.execute(select(moments.c.at).where(moments.c.name == name))
        ).scalar_one()
    assert stored.tzinfo is not None and stored.utcoffset() == timedelta(0)
    assert stored == local
    assert stored.astimezone(UTC).hour == 11


async def test_naive_datetimes_are_refused(database: Database) -> None:
    async with database.unit_of_work() as uow:
        with pytest.raises(Exception, match="naive datetime"):
            await uow.session.execute(
                insert(moments).values(name="naive", at=datetime(2026, 1, 1))  # noqa: DTZ001
            )


async def test_utcnow_is_aware() -> None:
    assert utcnow().tzinfo is UTC


@pytest.mark.postgres_only
async def test_a_hot_read_survives_the_database_dropping_its_connection(
    database: Database, settings: Settings
) -> None:
    """No ping per checkout: a read that meets a dead connection retries on a fresh one."""
    reader = Database(settings)
    try:
        [(pid,)] = await reader.fetch_all(text("SELECT pg_backend_pid()"))
        await database.fetch_all(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        [(new_pid,)] = await reader.fetch_all(text("SELECT pg_backend_pid()"))
        assert new_pid != pid
    finally:
        await reader.dispose()
