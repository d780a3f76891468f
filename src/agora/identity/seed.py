"""The demo admin account of `agora seed` (development and test only, never production)."""

from agora.identity.module import users_of
from agora.identity.repository import UserRepository
from agora.platform.runtime import Runtime

DEMO_ADMIN_EMAIL = "admin@agora.example"
# Documented in the README, for the demo only; never created in production.
DEMO_ADMIN_PASSWORD = "agora-demo-admin-2026"  # noqa: S105


async def seed_demo_admin(runtime: Runtime) -> str:
    if runtime.settings.env == "production":
        return "Demo admin: not created in production (use `agora create-admin`)."
    async with runtime.database.session() as session:
        if await UserRepository(session).get_by_email(DEMO_ADMIN_EMAIL) is not None:
            return f"Demo admin: {DEMO_ADMIN_EMAIL} / {DEMO_ADMIN_PASSWORD} (already there)."
    await users_of(runtime).create_admin(DEMO_ADMIN_EMAIL, DEMO_ADMIN_PASSWORD, "Demo Admin")
    return (
        f"Demo admin created: {DEMO_ADMIN_EMAIL} / {DEMO_ADMIN_PASSWORD} "
        "(for the demo only; create real admins with `agora create-admin`)."
    )
