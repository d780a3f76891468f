import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta

from limits import RateLimitItem
from sqlalchemy.ext.asyncio import AsyncSession

from agora.identity.domain import normalize_email
from agora.identity.errors import InvalidCredentials, RefreshRejected
from agora.identity.models import AuthSession, RefreshToken, User
from agora.identity.repository import SessionRepository, UserRepository
from agora.identity.revocations import Revocations
from agora.platform.db import Database, utcnow
from agora.platform.errors import TooManyRequests
from agora.platform.observability import get_logger
from agora.platform.ratelimit import RateLimiter
from agora.platform.security import Principal
from agora.platform.security.passwords import PasswordHasher
from agora.platform.security.tokens import AccessTokens, IssuedToken

log = get_logger("agora.identity.sessions")


@dataclass(frozen=True)
class SignIn:
    """What a login or a refresh hands out."""

    access: IssuedToken
    refresh_token: str
    refresh_max_age: int


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class AuthService:
    def __init__(
        self,
        database: Database,
        passwords: PasswordHasher,
        tokens: AccessTokens,
        revocations: Revocations,
        *,
        limiter: RateLimiter,
        login_limit: RateLimitItem,
        refresh_ttl: timedelta,
    ) -> None:
        self.database = database
        self.passwords = passwords
        self.tokens = tokens
        self.revocations = revocations
        self.limiter = limiter
        self.login_limit = login_limit
        self.refresh_ttl = refresh_ttl

    async def login(self, email: str, password: str, *, ip: str, user_agent: str) -> SignIn:
        """Check the password and start a session; unknown email and wrong password look alike."""
        email = normalize_email(email)
        await self._throttle(ip, email)
        async with self.database.session() as session:
            user = await UserRepository(session).get_by_email(email)
        if user is None:
            await self.passwords.verify_nothing(password)
            raise InvalidCredentials()
        matches, upgraded_hash = await self.passwords.verify(password, user.password_hash)
        if not matches:
            raise InvalidCredentials()
        async with self.database.unit_of_work() as uow:
            user = await UserRepository(uow.session).get(user.id)
            if user is None:  # deleted while we were hashing
                raise InvalidCredentials()
            if upgraded_hash is not None:
                user.password_hash = upgraded_hash
            auth_session = AuthSession(user_id=user.id, ip=ip[:64], user_agent=user_agent[:200])
            refresh = self._new_refresh_token(uow.session, auth_session)
            await uow.commit()
        return self._sign_in(user, auth_session.id, refresh)

    async def refresh(self, token: str) -> SignIn:
        """Rotate a refresh token. Using one twice revokes its whole session (theft detection)."""
        now = utcnow()
        async with self.database.unit_of_work() as uow:
            sessions = SessionRepository(uow.session)
            row = await sessions.find_token(_digest(token))
            if row is None or row.session.revoked_at is not None or row.expires_at <= now:
                raise RefreshRejected()
            if row.used_at is None and await sessions.mark_used(row.id, now):
                user = await UserRepository(uow.session).get(row.session.user_id)
                if user is None:
                    raise RefreshRejected()
                row.session.last_used_at = now
                refresh = self._new_refresh_token(uow.session, row.session)
                await uow.commit()
                return self._sign_in(user, row.session_id, refresh)
            await sessions.revoke(row.session_id, now, "refresh_token_reused")
            await uow.commit()
        # Announced after the unit of work, whose deadline is for the database alone.
        await self.revocations.announce_session(row.session_id)
        log.warning("refresh_token_reused", session_id=str(row.session_id))
        raise RefreshRejected(
            "This refresh token was already used; the session is revoked. Sign in again."
        )

    async def logout(self, token: str | None, principal: Principal | None) -> None:
        """End the session of the refresh token (or of the access token). Idempotent."""
        session_id: uuid.UUID | None = None
        async with self.database.unit_of_work() as uow:
            sessions = SessionRepository(uow.session)
            if token:
                row = await sessions.find_token(_digest(token))
                session_id = row.session_id if row is not None else None
            if session_id is None and principal is not None:
                session_id = principal.session_id
            if session_id is None:
                return
            await sessions.revoke(session_id, utcnow(), "logout")
            await uow.commit()
        await self.revocations.announce_session(session_id)

    async def _throttle(self, ip: str, email: str) -> None:
        limit = self.login_limit
        for namespace, key in (("login-ip", ip), ("login-account", email)):
            decision = await self.limiter.hit(limit, namespace, key, exact=True)
            if not decision.allowed:
                raise TooManyRequests(
                    f"Too many sign-in attempts; try again in {decision.reset_after} s.",
                    headers={"Retry-After": str(decision.reset_after)},
                    code="too_many_login_attempts",
                )

    def _new_refresh_token(self, session: AsyncSession, auth_session: AuthSession) -> str:
        token = secrets.token_urlsafe(32)
        ttl = self.refresh_ttl
        row = RefreshToken(
            session=auth_session, token_hash=_digest(token), expires_at=utcnow() + ttl
        )
        SessionRepository(session).add(auth_session, row)
        return token

    def _sign_in(self, user: User, session_id: uuid.UUID, refresh: str) -> SignIn:
        access = self.tokens.issue(user.id, frozenset({user.role}), session_id)
        max_age = int(self.refresh_ttl.total_seconds())
        return SignIn(access=access, refresh_token=refresh, refresh_max_age=max_age)
