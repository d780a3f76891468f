"""Migrations run on a fresh database of the engine under test and match the models."""

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

from agora import models
from agora.platform.db import create_engine
from agora.settings import Settings


def _diff(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, models.metadata))


# Alembic cannot compare expression indexes (the full-text index); it says so and skips them.
@pytest.mark.filterwarnings("ignore:autogenerate skipping metadata-specified expression")
async def test_migrated_schema_matches_the_models(settings: Settings) -> None:
    engine = create_engine(settings)
    try:
        async with engine.connect() as connection:
            differences = await connection.run_sync(_diff)
            tables = await connection.run_sync(lambda sync: inspect(sync).get_table_names())
    finally:
        await engine.dispose()
    differences = [d for d in differences if not _expected(d)]
    assert differences == [], differences
    assert "alembic_version" in tables


HAND_WRITTEN = {"ix_products_search"}  # PostgreSQL's full-text index, written out in 0003


def _expected(difference: Any) -> bool:
    """Differences that are not drift: other tests' scratch tables, hand-written indexes."""
    kind, item = difference[0], difference[1]
    if kind in ("add_index", "remove_index"):
        return bool(item.name in HAND_WRITTEN)
    return bool(kind == "remove_table" and item.name.startswith(("chassis_", "db_test_")))


async def test_upgrade_and_downgrade_on_a_fresh_sqlite_file(
    tmp_path: Path, make_settings: Callable[..., Settings]
) -> None:
    from agora.platform.migrate import downgrade, upgrade

    fresh = make_settings(database_url=f"sqlite+aiosqlite:///{tmp_path}/fresh.db")
    await asyncio.to_thread(upgrade, fresh)
    await asyncio.to_thread(downgrade, fresh, "base")
    await asyncio.to_thread(upgrade, fresh)
