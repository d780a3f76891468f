"""`agora seed`: a realistic demo catalog, idempotent and resumable, on the engine under test."""

import asyncio
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import func, select

from agora.catalog.models import Category, Product, ProductTag
from agora.platform.migrate import upgrade
from agora.platform.runtime import Runtime
from agora.settings import Settings
from tests.support.backends import scratch_database
from tests.support.server import agora_env


def _seed(settings: Settings, url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603
        [sys.executable, "-m", "agora", "seed", *args],
        env=agora_env(settings, AGORA_DATABASE_URL=url),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


async def _counts(settings: Settings) -> tuple[int, int, int, int]:
    runtime = Runtime.create(settings)
    try:
        async with runtime.database.session() as session:
            products = await session.scalar(select(func.count()).select_from(Product))
            active = await session.scalar(select(func.count()).where(Product.status == "active"))
            categories = await session.scalar(select(func.count()).select_from(Category))
            tags = await session.scalar(select(func.count(func.distinct(ProductTag.tag))))
        return int(products or 0), int(active or 0), int(categories or 0), int(tags or 0)
    finally:
        await runtime.close()


@pytest.mark.slow
async def test_seed_is_idempotent_and_resumable(
    settings: Settings, make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    async with scratch_database(str(tmp_path)) as url:
        scratch = make_settings(database_url=url)
        await asyncio.to_thread(upgrade, scratch)
        first = await asyncio.to_thread(_seed, settings, url)
        assert first.returncode == 0, first.stdout + first.stderr
        assert "Catalog: 240 products added; 240 demo products in all." in first.stdout
        products, active, categories, tags = await _counts(scratch)
        assert (products, categories) == (240, 8)
        assert active > 200 and tags >= 16
        again = await asyncio.to_thread(_seed, settings, url)
        assert "Catalog: 0 products added; 240 demo products in all." in again.stdout
        assert (await _counts(scratch))[0] == 240
        more = await asyncio.to_thread(_seed, settings, url, "--products", "20000")
        assert "19760 products added; 20000 demo products in all" in more.stdout, more.stderr
        assert (await _counts(scratch))[0] == 20_000
        # `make run` seeds the default 240 again: it says what is there, not "240 in all".
        default = await asyncio.to_thread(_seed, settings, url)
        assert "Catalog: 0 products added; 20000 demo products in all." in default.stdout
