"""Security machinery shared by every module: principals, access tokens, passwords, revocation.

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

__all__ = [
    "Authenticator",
    "CurrentPrincipal",
    "CurrentUser",
    "OptionalPrincipal",
    "Principal",
    "authorize",
    "request_principal",
    "require_role",
]
