"""Database: one async engine per app, a session per request, a unit of work per use case.

SQLite (aiosqlite) is the embedded default and PostgreSQL (asyncpg) the production engine; the
same models and migrations run on both. Two details make SQLite behave like a real database here:
every transaction really begins with BEGIN (pysqlite's legacy autocommit is switched off), and a
unit of work that writes begins with BEGIN IMMEDIATE, so that concurrent writers queue on the
write lock (busy_timeout) instead of failing when a read snapshot must be upgraded.

Every database call is bounded by `AGORA_DB_TIMEOUT` on Agora's side (`Database.bounded`):
waiting for a pooled or a new connection, the statements and the commit together. A server that
stops answering (frozen, partitioned) cannot fire its own statement_timeout, and the driver's
timeouts add up (pool wait, connect, statement, then the cancel request and the rollback each
wait again), so the bound is one deadline around the whole call. When it passes, the call ends
with 503 at once and its connection is dropped in the background, without waiting on the
database again. The same bound is PostgreSQL's statement_timeout and SQLite's busy timeout.
"""

import asyncio
import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from types import TracebackType
from typing import Annotated, Any, ClassVar, Self, TypeVar

from fastapi import Depends, Request
from sqlalchemy import DateTime, Dialect, Executable, MetaData, Uuid, event, text
from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy.engine import Connection, Engine, Row, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from agora.platform.errors import DependencyUnavailable, unavailable
from agora.platform.ids import new_id
from agora.platform.observability import get_logger
from agora.settings import Settings

log = get_logger("agora.db")

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
            pool_timeout=settings.db_timeout,
            connect_args={"timeout": settings.db_timeout},
        )
        _install_sqlite_pragmas(engine, _milliseconds(settings.db_timeout))
        return engine
    server_settings = {
        "application_name": "agora",
        "statement_timeout": str(_milliseconds(settings.db_timeout)),
    }
    return create_async_engine(
        url,
        echo=settings.db_echo,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_timeout=settings.db_timeout,
        pool_recycle=settings.db_pool_recycle,
        # No ping per checkout (a round trip on every request). A connection found dead
        # invalidates the whole pool, so after a database restart only requests already in
        # flight fail (503); hot reads retry once on a fresh connection (ADR 12).
        pool_pre_ping=False,
        connect_args={"timeout": settings.db_timeout, "server_settings": server_settings},
    )


def _milliseconds(seconds: float) -> int:
    return max(1, int(seconds * 1000))


def _sqlite_reader(settings: Settings) -> Engine:
    """A synchronous, read-only engine on the same SQLite file, for `Database.fetch_all`.

    aiosqlite runs every cursor operation as its own hop to its thread (eight for one SELECT
    inside a session, measured); a whole read done in one worker-thread call is one hop.
    """
    url = make_url(settings.resolved_database_url).set(drivername="sqlite")
    engine = create_sync_engine(
        url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_timeout=settings.db_timeout,
        connect_args={"check_same_thread": False, "timeout": settings.db_timeout},
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA query_only=ON")  # this engine never writes
        cursor.execute(f"PRAGMA busy_timeout={_milliseconds(settings.db_timeout)}")
        cursor.close()

    return engine


SessionOrConnection = TypeVar("SessionOrConnection", AsyncSession, AsyncConnection)


class Database:
    """The engine and the session factories of one application instance."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.timeout = settings.db_timeout
        self._dropping: set[asyncio.Task[None]] = set()
        self.engine = create_engine(settings)
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        # Hot reads: one statement, no transaction (PostgreSQL: no BEGIN/ROLLBACK round trips).
        self._sqlite_reads = _sqlite_reader(settings) if self.is_sqlite else None
        self._autocommit = self.engine.execution_options(isolation_level="AUTOCOMMIT")
        self._loop_connection: Connection | None = None
        self._reader = async_sessionmaker(self.engine, expire_on_commit=False, autoflush=False)
        writer_bind = (
            self.engine.execution_options(**{_SQLITE_BEGIN: "IMMEDIATE"})
            if self.is_sqlite
            else self.engine
        )
        self._writer = async_sessionmaker(writer_bind, expire_on_commit=False, autoflush=False)
        if not self.is_sqlite:  # SQLite's own busy timeout ends its waits at the same bound
            event.listen(self.engine.sync_engine.pool, "checkout", _checked_out)
            event.listen(self.engine.sync_engine.pool, "checkin", _checked_in)

    def session(self, *, write: bool = False) -> AbstractAsyncContextManager[AsyncSession]:
        """`async with database.session() as session:` one bounded database call.

        The session is closed (its transaction rolled back) at the end; `write=True` takes
        SQLite's write lock at BEGIN.
        """
        return self.bounded(self._writer() if write else self._reader())

    def unit_of_work(self) -> "UnitOfWork":
        return UnitOfWork(self.session(write=True))

    @asynccontextmanager
    async def bounded(
        self, resource: SessionOrConnection, seconds: float | None = None
    ) -> AsyncIterator[SessionOrConnection]:
        """Use `resource` for one database call of at most `seconds` (AGORA_DB_TIMEOUT).

        Past the deadline the call raises a 503 (`DependencyUnavailable`, with Retry-After) at
        once, and the resource is dropped in the background instead of closed: closing would
        wait on the database again.
        """
        limit = seconds or self.timeout
        loop = asyncio.get_running_loop()
        when = loop.time() + limit
        held: list[tuple[Any, int]] = []
        token = _HELD.set(held)
        # At the deadline, first cut the connections this call holds (no round trip: their
        # sockets are aborted), then cancel it: SQLAlchemy then drops them without waiting
        # for a frozen server's goodbye (a graceful close would wait up to 2 s more).
        abort = loop.call_at(when, _abort, held)
        deadline = asyncio.timeout_at(when)
        try:
            async with deadline:
                try:
                    yield resource
                finally:
                    if not deadline.expired():
                        await _close(resource)
        except TimeoutError:
            if not deadline.expired():
                raise  # not ours: something inside timed out on its own
            self._drop(resource)
            log.warning("database_call_timed_out", seconds=limit)
            raise self.unavailable() from None
        finally:
            abort.cancel()
            _HELD.reset(token)

    def unavailable(self) -> DependencyUnavailable:
        return unavailable("database", self.settings.retry_after_seconds)

    def _drop(self, resource: SessionOrConnection) -> None:
        task = asyncio.get_running_loop().create_task(_invalidate(resource))
        self._dropping.add(task)
        task.add_done_callback(self._dropping.discard)

    async def fetch_all(
        self,
        statement: Executable,
        params: Mapping[str, Any] | None = None,
        *,
        by_key: bool = False,
    ) -> Sequence[Row[Any]]:
        """Run one read-only statement outside any unit of work: the hot-read path.

        It sees what is committed; use a session inside a unit of work when a read must be
        consistent with writes of the same transaction. `by_key=True` promises a lookup by
        primary key (a handful of index probes): on SQLite it then runs on the event loop,
        because such a read takes less CPU than handing it to a thread (ADR 12).
        """
        if self._sqlite_reads is not None:
            if by_key:
                return self._fetch_on_loop(self._sqlite_reads, statement, params)
            async with asyncio.timeout(self.timeout):  # the thread stops at busy_timeout
                return await asyncio.to_thread(_fetch_sync, self._sqlite_reads, statement, params)
        try:
            return await self._fetch(statement, params)
        except DBAPIError as exc:
            if not exc.connection_invalidated:
                raise
        # The connection was dead (the database restarted): a read is safe to run again.
        return await self._fetch(statement, params)

    async def _fetch(
        self, statement: Executable, params: Mapping[str, Any] | None
    ) -> Sequence[Row[Any]]:
        connection = self._autocommit.connect()
        async with self.bounded(connection):
            await connection.start()
            return (await connection.execute(statement, params)).all()

    def _fetch_on_loop(
        self, engine: Engine, statement: Executable, params: Mapping[str, Any] | None
    ) -> Sequence[Row[Any]]:
        # One connection, used only from the event loop's thread, in autocommit: no pool
        # checkout and no transaction per read; each SELECT sees what is committed.
        if self._loop_connection is None:
            self._loop_connection = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        try:
            return self._loop_connection.execute(statement, params).all()
        except DBAPIError:
            self._loop_connection.invalidate()
            self._loop_connection = None
            raise

    async def analyze(self, *tables: str) -> None:
        """Refresh the query planner's statistics after a bulk load.

        Without them PostgreSQL plans a million-row table as if it held a handful of rows, and
        until VACUUM sets the visibility map an index-only scan still visits every heap page.
        """
        if self.is_sqlite:
            async with self.engine.begin() as connection:
                await connection.execute(text("ANALYZE"))
            return
        quote = self.engine.dialect.identifier_preparer.quote
        async with self._autocommit.connect() as connection:  # VACUUM refuses transactions
            await connection.execute(text(f"VACUUM (ANALYZE) {', '.join(map(quote, tables))}"))

    @property
    def sync_engines(self) -> list[Engine]:
        """Every engine that talks to the database (for instrumentation: SQL counters, tracing)."""
        engines = [self.engine.sync_engine]
        if self._sqlite_reads is not None:
            engines.append(self._sqlite_reads)
        return engines

    async def ping(self) -> None:
        """Raise if the database cannot answer `SELECT 1` within the readiness timeout."""
        connection = self.engine.connect()
        async with self.bounded(connection, self.settings.ready_timeout):
            await connection.start()
            await connection.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        if self._dropping:  # connections being dropped after a timeout: give them a moment
            await asyncio.wait(self._dropping, timeout=self.timeout)
        await self.engine.dispose()
        if self._loop_connection is not None:
            self._loop_connection.close()
            self._loop_connection = None
        if self._sqlite_reads is not None:
            self._sqlite_reads.dispose()


_HELD: ContextVar[list[tuple[Any, int]] | None] = ContextVar("agora_db_held", default=None)
"""The pooled connections the current bounded call checked out: (pool record, checkout number)."""


def _checked_out(_: Any, record: Any, __: Any) -> None:
    number = record.info.get("agora_checkouts", 0) + 1
    record.info["agora_checkouts"] = number
    record.info["agora_out"] = True
    held = _HELD.get()
    if held is not None:
        held.append((record, number))


def _checked_in(_: Any, record: Any) -> None:
    record.info["agora_out"] = False


def _abort(held: list[tuple[Any, int]]) -> None:
    """Abort the sockets of connections still checked out by the call that noted them."""
    for record, number in held:
        if record.info.get("agora_out") and record.info.get("agora_checkouts") == number:
            terminate = getattr(record.driver_connection, "terminate", None)
            if callable(terminate):
                terminate()


async def _close(resource: AsyncSession | AsyncConnection) -> None:
    if isinstance(resource, AsyncSession) or resource.sync_connection is not None:
        await resource.close()


async def _invalidate(resource: AsyncSession | AsyncConnection) -> None:
    """Drop a session or connection whose database stopped answering (never reused)."""
    try:
        if isinstance(resource, AsyncSession) or resource.sync_connection is not None:
            await resource.invalidate()
    except Exception as exc:  # the database is the problem here; nothing is left to do
        log.info("database_connection_dropped", error_type=type(exc).__name__)


def _fetch_sync(
    engine: Engine, statement: Executable, params: Mapping[str, Any] | None
) -> Sequence[Row[Any]]:
    with engine.connect() as connection:
        return connection.execute(statement, params).all()


class UnitOfWork:
    """One business transaction: `async with uow: ...; await uow.commit()`.

    Leaving the block without `commit()` (or by an exception) rolls everything back, so a use
    case either happens completely or not at all. Repositories never commit. The whole block is
    one bounded database call (`Database.bounded`).
    """

    session: AsyncSession

    def __init__(self, scope: AbstractAsyncContextManager[AsyncSession]) -> None:
        self._scope = scope
        self._committed = False

    async def __aenter__(self) -> Self:
        self.session = await self._scope.__aenter__()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        # Closing the session rolls back whatever was not committed.
        try:
            return await self._scope.__aexit__(exc_type, exc, tb)
        except DependencyUnavailable:
            if self._committed and exc_type is None:
                # The work is committed; only returning the connection ran out of time (it is
                # dropped in the background). Answering 503 would invite doing it twice.
                log.warning("database_release_timed_out_after_commit")
                return None
            raise

    async def commit(self) -> None:
        await self.session.commit()
        self._committed = True


# --- request dependencies ------------------------------------------------------


async def get_database(request: Request) -> Database:
    database: Database = request.app.state.runtime.database
    return database


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """A read session for the request; it connects only if used and closes at the end."""
    database: Database = request.app.state.runtime.database
    async with database.session() as session:
        yield session


DatabaseDep = Annotated[Database, Depends(get_database)]
SessionDep = Annotated[AsyncSession, Depends(get_session)]
