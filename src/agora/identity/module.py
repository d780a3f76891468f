"""How the identity module plugs into an Agora instance (used by `agora.app` only)."""

from fastapi import FastAPI

from agora.identity import revocations
from agora.identity.api import router, well_known
from agora.identity.authentication import IdentityAuthenticator
from agora.identity.revocations import RevocationFeed
from agora.platform.runtime import Runtime


class IdentityModule:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        revocations.subscribe(runtime)
        self.authenticator = IdentityAuthenticator(runtime)
        self.feed = RevocationFeed(runtime)

    def install(self, app: FastAPI) -> None:
        app.include_router(router)
        app.include_router(well_known)

    async def start(self) -> None:
        await self.feed.start()

    async def stop(self) -> None:
        await self.feed.stop()
