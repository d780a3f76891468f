"""Which engines the suite runs on, and a fresh database for each run.

`AGORA_TEST_BACKEND=sqlite` (default): a SQLite file in a temporary directory.
`AGORA_TEST_BACKEND=postgres`: a new database `agora_test_<random>` created on the server named by
`AGORA_TEST_DATABASE_URL` (dropped at the end), and Redis at `AGORA_TEST_REDIS_URL` if set.
With `CI` set, an unreachable server fails the run instead of skipping anything.
"""

import asyncio
import os
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import asyncpg
from sqlalchemy.engine import make_url

BACKEND = os.environ.get("AGORA_TEST_BACKEND", "sqlite")
POSTGRES_URL = os.environ.get(
    "AGORA_TEST_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
# The SQLite pass is the embedded default: no Redis. The PostgreSQL pass adds Redis if given.
REDIS_URL = os.environ.get("AGORA_TEST_REDIS_URL") if BACKEND == "postgres" else None
# ... and RabbitMQ for events, if given.
BROKER_URL = os.environ.get("AGORA_TEST_BROKER_URL") if BACKEND == "postgres" else None


@dataclass(frozen=True)
class TestDatabase:
    url: str
    admin_dsn: str | None = None
    name: str | None = None


def _dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def _create_postgres() -> TestDatabase:
    name = f"agora_test_{secrets.token_hex(6)}"
    admin = _dsn(POSTGRES_URL)
    connection = await asyncpg.connect(admin, timeout=10)
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    url = make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    return TestDatabase(url=url, admin_dsn=admin, name=name)


async def _drop_postgres(database: TestDatabase) -> None:
    assert database.admin_dsn and database.name
    connection = await asyncpg.connect(database.admin_dsn, timeout=10)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{database.name}" WITH (FORCE)')
    finally:
        await connection.close()


def create_database(tmp_dir: str) -> TestDatabase:
    if BACKEND == "postgres":
        return asyncio.run(_create_postgres())
    if BACKEND != "sqlite":
        raise RuntimeError(f"unknown AGORA_TEST_BACKEND {BACKEND!r}: use sqlite or postgres")
    return TestDatabase(url=f"sqlite+aiosqlite:///{tmp_dir}/agora-test.db")


def drop_database(database: TestDatabase) -> None:
    if database.name is not None:
        asyncio.run(_drop_postgres(database))


@asynccontextmanager
async def scratch_database(tmp_dir: str) -> AsyncIterator[str]:
    """A second fresh database on the engine under test (for tests that fill one up)."""
    if BACKEND == "postgres":
        database = await _create_postgres()
        try:
            yield database.url
        finally:
            await _drop_postgres(database)
    else:
        yield f"sqlite+aiosqlite:///{tmp_dir}/scratch-{secrets.token_hex(4)}.db"


async def delete_queues(url: str, names: list[str]) -> None:
    """Remove the queues a test run declared on the shared RabbitMQ."""
    import aio_pika

    connection = await aio_pika.connect(url, timeout=5)
    try:
        for name in names:
            channel = await connection.channel()
            await channel.queue_delete(name)
            await channel.close()
    finally:
        await connection.close()
