"""Identity use cases: users, sign-in sessions and API keys."""

from agora.identity.service._api_keys import ApiKeyService
from agora.identity.service._sessions import AuthService, SignIn
from agora.identity.service._users import UserService

__all__ = ["ApiKeyService", "AuthService", "SignIn", "UserService"]
