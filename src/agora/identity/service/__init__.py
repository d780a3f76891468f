"""Identity use cases: users, sign-in sessions and API keys."""

from agora.identity.service.api_keys import ApiKeyService
from agora.identity.service.sessions import AuthService, SignIn
from agora.identity.service.users import UserService

__all__ = ["ApiKeyService", "AuthService", "SignIn", "UserService"]
