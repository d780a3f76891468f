"""Alembic, driven from code: `agora migrate` and the test suite use the same function."""

from pathlib import Path

from alembic import command
from alembic.config import Config

from agora.settings import Settings


def migrations_dir() -> Path:
    """The repository's `migrations/` (a source checkout), else `./migrations` (an image)."""
    checkout = Path(__file__).resolve().parents[3] / "migrations"
    return checkout if checkout.is_dir() else Path.cwd() / "migrations"


def alembic_config(settings: Settings) -> Config:
    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    config.attributes["settings"] = settings
    return config


def upgrade(settings: Settings, revision: str = "head") -> None:
    """Apply migrations up to `revision`. Blocking: call it from a thread inside a loop."""
    command.upgrade(alembic_config(settings.for_bulk_work()), revision)


def downgrade(settings: Settings, revision: str) -> None:
    command.downgrade(alembic_config(settings.for_bulk_work()), revision)
