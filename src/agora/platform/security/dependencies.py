"""FastAPI dependencies for authorization: 401 when nobody is known, 403 when not allowed.

The access middleware has already identified the caller (and refused bad credentials), so
these only read `request.state.principal`.
"""

from typing import Annotated, Any

from fastapi import Depends, Request

from agora.platform.errors import Forbidden, Unauthorized
from agora.platform.security.principals import Principal


def request_principal(request: Request) -> Principal | None:
    """Who sent the request (None if anonymous), as the access layer authenticated them."""
    principal: Principal | None = request.scope.get("state", {}).get("principal")
    return principal


async def optional_principal(request: Request) -> Principal | None:
    return request_principal(request)


async def current_principal(request: Request) -> Principal:
    principal = request_principal(request)
    if principal is None:
        raise Unauthorized("Authentication is required: send a bearer token or an API key.")
    return principal


async def current_user(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
    if not principal.is_user:
        raise Forbidden("This route is for signed-in users, not API keys.")
    return principal


OptionalPrincipal = Annotated[Principal | None, Depends(optional_principal)]
CurrentPrincipal = Annotated[Principal, Depends(current_principal)]
CurrentUser = Annotated[Principal, Depends(current_user)]


def require_role(*roles: str) -> Any:
    """`Depends(...)` admitting users with one of `roles` (401 if anonymous, 403 otherwise)."""
    allowed = frozenset(roles)

    async def dependency(user: CurrentUser) -> Principal:
        if not user.has_role(*allowed):
            raise Forbidden(f"This needs the role {' or '.join(sorted(allowed))}.")
        return user

    return Depends(dependency)


def authorize(*roles: str, scope: str) -> Any:
    """`Depends(...)` admitting users with one of `roles` (any user if none are named) and
    API keys holding `scope` (see `Principal.has_scope`)."""
    allowed = frozenset(roles)

    async def dependency(principal: CurrentPrincipal) -> Principal:
        if principal.is_user:
            if not allowed or principal.has_role(*allowed):
                return principal
            raise Forbidden(f"This needs the role {' or '.join(sorted(allowed))}.")
        if principal.has_scope(scope):
            return principal
        raise Forbidden(f"This API key needs the scope {scope}.", code="missing_scope")

    return Depends(dependency)
