"""Identity: users, sign-in sessions with rotating refresh tokens, roles and API keys.

Other contexts authorize with `agora.platform.security` (principals, roles, scopes). Its public
face is for reading users: `UserService` and the `UserSummary` DTO.
"""

from agora.identity.schemas import UserSummary
from agora.identity.service import UserService

__all__ = ["UserService", "UserSummary"]
