"""Security machinery shared by every module: principals, roles and scopes, access tokens,
passwords, revocation.

The identity module owns users, sessions and API keys; what it needs to authenticate a request
(verifying a token, hashing a password) lives here so that every module can authorize.
"""

from agora.platform.security.dependencies import (
    CurrentPrincipal,
    CurrentUser,
    OptionalPrincipal,
    authorize,
    request_principal,
    require_role,
)
from agora.platform.security.principals import Authenticator, Principal
from agora.platform.security.roles import GRANTABLE_SCOPES, Role, Scope

__all__ = [
    "GRANTABLE_SCOPES",
    "Authenticator",
    "CurrentPrincipal",
    "CurrentUser",
    "OptionalPrincipal",
    "Principal",
    "Role",
    "Scope",
    "authorize",
    "request_principal",
    "require_role",
]
