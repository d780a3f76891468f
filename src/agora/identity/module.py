"""How identity plugs into an Agora instance: its wiring (used by `agora.app` only).

Its services are built once, here, from the instance's infrastructure (database, password
hasher, token machinery, rate limiter, broadcast); the routes reach them through this
context's one `app.state.identity` key, and other contexts are handed `users`.
"""

from dataclasses import dataclass
from datetime import timedelta

from fastapi import FastAPI

from agora.identity.api import router, well_known
from agora.identity.authentication import IdentityAuthenticator
from agora.identity.revocations import RevocationFeed, Revocations
from agora.identity.service import ApiKeyService, AuthService, UserService
from agora.platform.http.path_rules import PathRules
from agora.platform.runtime import Runtime

# Sign-in takes the strict per-IP limit; its answers and new API keys hold secrets that an
# Idempotency-Key replay must never store. (The layers that read these see `/api/...` paths
# already rewritten to their version, `/api/v1/...`.)
_AUTH = ("/api/v1/auth/",)
_API_KEYS = ("/api/v1/api-keys",)


@dataclass(frozen=True)
class IdentityServices:
    users: UserService
    auth: AuthService
    api_keys: ApiKeyService


def revocations_of(runtime: Runtime) -> Revocations:
    return Revocations(runtime.revocations, runtime.broadcast)


def users_of(runtime: Runtime) -> UserService:
    """The user service alone (`agora create-admin` and the demo seed need nothing else)."""
    return UserService(runtime.database, runtime.passwords, revocations_of(runtime))


class IdentityModule:
    def __init__(self, runtime: Runtime) -> None:
        settings = runtime.settings
        revocations = revocations_of(runtime)
        revocations.subscribe()
        api_keys = ApiKeyService(runtime.database, runtime.broadcast)
        self.services = IdentityServices(
            users=UserService(runtime.database, runtime.passwords, revocations),
            auth=AuthService(
                runtime.database,
                runtime.passwords,
                runtime.tokens,
                revocations,
                limiter=runtime.limiter,
                login_limit=runtime.rate_policy.login,
                refresh_ttl=timedelta(days=settings.refresh_token_ttl_days),
            ),
            api_keys=api_keys,
        )
        self.users = self.services.users  # what other contexts are given
        self.authenticator = IdentityAuthenticator(runtime.tokens, api_keys, runtime.broadcast)
        self.feed = RevocationFeed(
            runtime.database,
            runtime.revocations,
            token_ttl=timedelta(seconds=settings.access_token_ttl_seconds),
            poll_seconds=settings.revocation_poll_seconds,
        )
        self.rules = PathRules(strict_rate_limit=_AUTH, never_stored=_AUTH + _API_KEYS)

    def install(self, app: FastAPI) -> None:
        app.state.identity = self.services
        app.include_router(router)
        app.include_router(well_known)

    async def start(self) -> None:
        await self.feed.start()

    async def stop(self) -> None:
        await self.feed.stop()
