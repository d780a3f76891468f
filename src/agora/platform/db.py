"""Database: one async engine per app, a session per request, a unit of work per use case.

SQLite (aiosqlite) is the embedded default and PostgreSQL (asyncpg) the production engine; the
same models and migrations run on both. Two details make SQLite behave like a real database here:
every transaction really begins with BEGIN (pysqlite's legacy autocommit is switched off), and a
unit of work that writes begins with BEGIN IMMEDIATE, so that concurrent writers queue on the
write lock (busy_timeout) instead of failing when a read snapshot must be upgraded.
"""

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from types import TracebackType
from typing import Annotated, Any, ClassVar, Self

from fastapi import Depends, Request
from sqlalchemy import DateTime, Dialect, MetaData, Uuid, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from agora.platform.ids import new_id
from agora.settings import Settings

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every engine.

    PostgreSQL stores `timestamptz`; SQLite stores naive UTC text, which sorts correctly as text.
    Naive datetimes are refused on the way in: an unknown offset is a bug, not a default.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base of every table; constraints are named by convention for migrations."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime(), uuid.UUID: Uuid()}


class IdMixin:
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


# --- engine -----------------------------------------------------------------

_SQLITE_BEGIN = "agora_sqlite_begin"


def _install_sqlite_pragmas(engine: AsyncEngine, busy_timeout_ms: int) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves, below
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        mode = connection.get_execution_options().get(_SQLITE_BEGIN, "DEFERRED")
        connection.exec_driver_sql(f"BEGIN {mode}")


def create_engine(settings: Settings) -> AsyncEngine:
    """The engine for `settings.database_url`, with pooling and timeouts for that engine."""
    url = make_url(settings.resolved_database_url)
    if url.get_backend_name() == "sqlite":
        database = url.database or ""
        if database and database != ":memory:" and not database.startswith("file:"):
            from pathlib import Path

            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(
            url,
            echo=settings.db_echo,
            pool_size=settings.db_pool_size,
            max_overflow=settings.db_max_overflow,
            pool_timeout=settings.db_pool_timeout,
            connect_args={"timeout": settings.db_statement_timeout_ms / 1000},
        )
        _install_sqlite_pragmas(engine, settings.db_statement_timeout_ms)
        return engine
    server_settings = {"application_name": "agora"}
    if settings.db_statement_timeout_ms:
        server_settings["statement_timeout"] = str(settings.db_statement_timeout_ms)
    return create_async_engine(
        url,
        echo=settings.db_echo,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_timeout=settings.db_pool_timeout,
        pool_recycle=settings.db_pool_recycle,
        pool_pre_ping=True,
        connect_args={"timeout": settings.db_connect_timeout, "server_settings": server_settings},
    )


class Database:
    """The engine and the session factories of one application instance."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.engine = create_engine(settings)
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        self._reader = async_sessionmaker(self.engine, expire_on_commit=False, autoflush=False)
        writer_bind = (
            self.engine.execution_options(**{_SQLITE_BEGIN: "IMMEDIATE"})
            if self.is_sqlite
            else self.engine
        )
        self._writer = async_sessionmaker(writer_bind, expire_on_commit=False, autoflush=False)

    def session(self, *, write: bool = False) -> AsyncSession:
        """A new session; `write=True` takes SQLite's write lock at BEGIN."""
        return self._writer() if write else self._reader()

    def unit_of_work(self) -> "UnitOfWork":
        return UnitOfWork(self.session(write=True))

    async def ping(self) -> None:
        """Raise if the database cannot answer `SELECT 1` within the readiness timeout."""
        async with asyncio.timeout(self.settings.ready_timeout), self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        await self.engine.dispose()


class UnitOfWork:
    """One business transaction: `async with uow: ...; await uow.commit()`.

    Leaving the block without `commit()` (or by an exception) rolls everything back, so a use
    case either happens completely or not at all. Repositories never commit.
    """

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            await self.session.rollback()
        finally:
            await self.session.close()

    async def commit(self) -> None:
        await self.session.commit()

    async def rollback(self) -> None:
        await self.session.rollback()


# --- request dependencies ------------------------------------------------------


def get_database(request: Request) -> Database:
    database: Database = request.app.state.database
    return database


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """A read session for the request; it connects only if used and closes at the end."""
    async with get_database(request).session() as session:
        yield session


DatabaseDep = Annotated[Database, Depends(get_database)]
SessionDep = Annotated[AsyncSession, Depends(get_session)]
