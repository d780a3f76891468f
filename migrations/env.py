"""Alembic environment: one history for SQLite and PostgreSQL, run through the async engine."""

import asyncio
from typing import Any, Literal

from alembic import context
from sqlalchemy.engine import Connection

from agora import models
from agora.platform.db import UTCDateTime, create_engine
from agora.settings import Settings

config = context.config
settings: Settings = config.attributes.get("settings") or Settings()
target_metadata = models.metadata


def render_item(kind: str, item: Any, autogen_context: Any) -> str | Literal[False]:
    """Render Agora's UTCDateTime as what it stores, so revisions import nothing from Agora."""
    if kind == "type" and isinstance(item, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite cannot ALTER most things
        compare_type=True,
        render_item=render_item,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_online() -> None:
    engine = create_engine(settings)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_configure)
            await connection.commit()
    finally:
        await engine.dispose()


def run_offline() -> None:
    context.configure(
        url=settings.resolved_database_url,
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=settings.is_sqlite,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_offline()
else:
    asyncio.run(_run_online())
