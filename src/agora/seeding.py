"""Demo data for `agora seed`: each module that has some contributes a seeder here.

Seeders are idempotent (they look before they insert), so `make run` can seed on every start.
"""

from collections.abc import Iterator

from agora.settings import Settings


def seed_all(settings: Settings) -> Iterator[str]:
    """Run every seeder, yielding one line of progress per seeder."""
    del settings  # no module has demo data yet; the catalog brings the first seeder
    yield "Nothing to seed yet: no module with demo data is installed."
