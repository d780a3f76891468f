"""Identity queries. Repositories add and find; they never commit."""

import uuid
from datetime import datetime

from sqlalchemy import Select, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from agora.identity.models import ApiKey, AuthSession, RefreshToken, User
from agora.platform.security import Role


class UserRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, user_id: uuid.UUID) -> User | None:
        user: User | None = await self.session.scalar(self.live().where(User.id == user_id))
        return user

    async def lock(self, user_id: uuid.UUID) -> User | None:
        query = self.live().where(User.id == user_id).with_for_update()
        user: User | None = await self.session.scalar(query)
        return user

    async def get_by_email(self, email: str) -> User | None:
        user: User | None = await self.session.scalar(self.live().where(User.email == email))
        return user

    async def email_taken(self, email: str, *, other_than: uuid.UUID | None = None) -> bool:
        query = select(User.id).where(User.email == email, User.deleted_at.is_(None))
        if other_than is not None:
            query = query.where(User.id != other_than)
        return await self.session.scalar(query.limit(1)) is not None

    async def count_admins(self) -> int:
        query = (
            select(func.count())
            .select_from(User)
            .where(User.role == Role.ADMIN.value, User.deleted_at.is_(None))
        )
        return int(await self.session.scalar(query) or 0)

    def add(self, user: User) -> None:
        self.session.add(user)

    @staticmethod
    def live() -> Select[User]:
        return select(User).where(User.deleted_at.is_(None))

    async def revoked_since(self, since: datetime) -> list[tuple[uuid.UUID, datetime]]:
        rows = await self.session.execute(
            select(User.id, User.tokens_valid_after).where(User.tokens_valid_after > since)
        )
        return [(user_id, moment) for user_id, moment in rows if moment is not None]


class SessionRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, auth_session: AuthSession, token: RefreshToken) -> None:
        self.session.add_all([auth_session, token])

    async def find_token(self, token_hash: str) -> RefreshToken | None:
        query = select(RefreshToken).where(RefreshToken.token_hash == token_hash).with_for_update()
        return await self.session.scalar(query)

    async def mark_used(self, token_id: uuid.UUID, at: datetime) -> bool:
        """Use a refresh token once: True for the first caller only (a conditional update)."""
        result = await self.session.execute(
            update(RefreshToken)
            .where(RefreshToken.id == token_id, RefreshToken.used_at.is_(None))
            .values(used_at=at)
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(result, "rowcount", 0) == 1)

    async def revoke(self, session_id: uuid.UUID, at: datetime, reason: str) -> None:
        await self.session.execute(
            update(AuthSession)
            .where(AuthSession.id == session_id, AuthSession.revoked_at.is_(None))
            .values(revoked_at=at, revoked_reason=reason)
            .execution_options(synchronize_session=False)
        )

    async def revoke_all_of(self, user_id: uuid.UUID, at: datetime, reason: str) -> None:
        await self.session.execute(
            update(AuthSession)
            .where(AuthSession.user_id == user_id, AuthSession.revoked_at.is_(None))
            .values(revoked_at=at, revoked_reason=reason)
            .execution_options(synchronize_session=False)
        )

    async def live_ids(self, user_id: uuid.UUID) -> list[uuid.UUID]:
        rows = await self.session.scalars(
            select(AuthSession.id).where(
                AuthSession.user_id == user_id, AuthSession.revoked_at.is_(None)
            )
        )
        return list(rows)

    async def revoked_since(self, since: datetime) -> list[uuid.UUID]:
        rows = await self.session.scalars(
            select(AuthSession.id).where(AuthSession.revoked_at > since)
        )
        return list(rows)


class ApiKeyRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, key: ApiKey) -> None:
        self.session.add(key)

    async def get(self, key_id: uuid.UUID) -> ApiKey | None:
        return await self.session.get(ApiKey, key_id)

    async def get_by_prefix(self, prefix: str) -> ApiKey | None:
        return await self.session.scalar(select(ApiKey).where(ApiKey.prefix == prefix))

    async def touch(self, key_id: uuid.UUID, at: datetime) -> None:
        await self.session.execute(
            update(ApiKey).where(ApiKey.id == key_id).values(last_used_at=at)
        )

    @staticmethod
    def listing() -> Select[ApiKey]:
        return select(ApiKey)
