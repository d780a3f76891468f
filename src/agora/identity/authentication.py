"""How Agora recognises a caller: a bearer access token or an `X-API-Key`.

Implements `agora.platform.security.Authenticator` for the access middleware. Tokens are
verified by signature (cached per token) and checked against the revocation list on every use;
API keys are looked up by prefix and cached briefly, and a revoked key is dropped from every
instance's cache at once through a broadcast.
"""

import time
import uuid
from typing import Any

from agora.identity.errors import InvalidApiKey
from agora.identity.service.api_keys import CHANNEL, ApiKeyService, digest
from agora.platform.broadcast import Broadcast
from agora.platform.db import utcnow
from agora.platform.security import Principal
from agora.platform.security.tokens import AccessTokens, InvalidToken

_KEY_CACHE_SECONDS = 30.0
_TOUCH_EVERY_SECONDS = 60.0


class IdentityAuthenticator:
    def __init__(self, tokens: AccessTokens, api_keys: ApiKeyService, broadcast: Broadcast) -> None:
        self.tokens = tokens
        self.api_keys = api_keys
        self._keys: dict[str, tuple[Principal, float]] = {}
        self._touched: dict[uuid.UUID, float] = {}
        broadcast.subscribe(CHANNEL, self._forget_key)
        broadcast.on_resync(self._forget_keys)

    async def identify(self, authorization: str | None, api_key: str | None) -> Principal | None:
        if authorization is not None:
            scheme, _, token = authorization.strip().partition(" ")
            token = token.strip()
            if scheme.lower() != "bearer" or not token:
                raise InvalidToken("Send the access token as 'Authorization: Bearer <token>'.")
            claims = self.tokens.verify(token)
            return Principal(
                kind="user", id=claims.subject, roles=claims.roles, session_id=claims.session_id
            )
        if api_key is not None:
            return await self._api_key(api_key.strip())
        return None

    async def _api_key(self, key: str) -> Principal:
        hashed = digest(key)
        now = time.monotonic()
        cached = self._keys.get(hashed)
        if cached is not None and cached[1] > now:
            principal = cached[0]
        else:
            principal, expires_at = await self.api_keys.authenticate(key)
            cache_until = now + _KEY_CACHE_SECONDS
            if expires_at is not None:  # never trust a cached key past its expiry
                cache_until = min(cache_until, now + (expires_at - utcnow()).total_seconds())
            if len(self._keys) > 10_000:
                self._keys.clear()
            self._keys[hashed] = (principal, cache_until)
        if self._touched.get(principal.id, 0.0) < now - _TOUCH_EVERY_SECONDS:
            self._touched[principal.id] = now
            await self.api_keys.touch(principal.id)
        return principal

    async def _forget_keys(self) -> None:
        self._keys.clear()  # a revocation may have been missed: look keys up again

    async def _forget_key(self, message: dict[str, Any]) -> None:
        revoked = uuid.UUID(message["revoked"])
        for hashed in [h for h, (p, _) in self._keys.items() if p.id == revoked]:
            del self._keys[hashed]


__all__ = ["IdentityAuthenticator", "InvalidApiKey"]
