"""How the identity module plugs into an Agora instance (used by `agora.app` only)."""

from fastapi import FastAPI

from agora.identity import revocations
from agora.identity.api import router, well_known
from agora.identity.authentication import IdentityAuthenticator
from agora.identity.revocations import RevocationFeed
from agora.identity.service import UserService
from agora.platform.http.path_rules import PathRules
from agora.platform.runtime import Runtime

# Sign-in takes the strict per-IP limit; its answers and new API keys hold secrets that an
# Idempotency-Key replay must never store.
_AUTH = ("/api/v1/auth/", "/api/auth/")
_API_KEYS = ("/api/v1/api-keys", "/api/api-keys")


class IdentityModule:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        revocations.subscribe(runtime)
        self.users = UserService(runtime)  # what other contexts are given
        self.authenticator = IdentityAuthenticator(runtime)
        self.feed = RevocationFeed(runtime)
        self.rules = PathRules(strict_rate_limit=_AUTH, never_stored=_AUTH + _API_KEYS)

    def install(self, app: FastAPI) -> None:
        app.include_router(router)
        app.include_router(well_known)

    async def start(self) -> None:
        await self.feed.start()

    async def stop(self) -> None:
        await self.feed.stop()
