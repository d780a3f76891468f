"""Who is calling: a user (bearer token) or a server (API key)."""

from dataclasses import dataclass, field
from typing import Literal, Protocol
from uuid import UUID


@dataclass(frozen=True, slots=True)
class Principal:
    kind: Literal["user", "api_key"]
    id: UUID
    roles: frozenset[str] = frozenset()
    scopes: frozenset[str] = frozenset()
    session_id: UUID | None = field(default=None, compare=False)

    @property
    def rate_key(self) -> str:
        return f"{self.kind}:{self.id}"

    @property
    def is_user(self) -> bool:
        return self.kind == "user"

    def has_role(self, *roles: str) -> bool:
        return not self.roles.isdisjoint(roles)

    def has_scope(self, scope: str) -> bool:
        """An API key's permission; `x:write` includes `x:read`. Users hold no scopes."""
        if scope in self.scopes:
            return True
        resource, _, action = scope.rpartition(":")
        return action == "read" and f"{resource}:write" in self.scopes


class Authenticator(Protocol):
    """Turns request credentials into a principal; raises `Unauthorized` when they are bad."""

    async def identify(self, authorization: str | None, api_key: str | None) -> Principal | None:
        """None when the request carries no credentials at all."""
        ...
