"""Identity: users, sign-in sessions with rotating refresh tokens, roles and API keys.

Other modules authorize with `agora.platform.security` (principals, roles, scopes); they do
not import anything from here.
"""
