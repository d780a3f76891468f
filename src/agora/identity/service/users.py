import uuid

from pydantic import MISSING
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from agora.identity.domain import check_password, normalize_email
from agora.identity.errors import (
    EmailTaken,
    LastAdmin,
    RoleChangeForbidden,
    UndeliverableEmail,
    UserNotFound,
    WrongCurrentPassword,
)
from agora.identity.models import User
from agora.identity.repository import SessionRepository, UserRepository
from agora.identity.revocations import Revocations
from agora.identity.schemas import UserRegister, UserSelfUpdate, UserSummary, UserUpdate
from agora.platform.db import Database, utcnow
from agora.platform.errors import PreconditionFailed
from agora.platform.observability import get_logger
from agora.platform.pagination import PageResult
from agora.platform.querying import CollectionQuery
from agora.platform.schemas import reserved_domain
from agora.platform.security import Principal, Role, Scope
from agora.platform.security.passwords import PasswordHasher

log = get_logger("agora.identity")


class UserService:
    def __init__(
        self, database: Database, passwords: PasswordHasher, revocations: Revocations
    ) -> None:
        self.database = database
        self.passwords = passwords
        self.revocations = revocations

    async def register(self, data: UserRegister) -> User:
        """Create a customer account."""
        return await self._create(data.email, data.password, data.name, Role.CUSTOMER)

    async def create_admin(self, email: str, password: str, name: str = "Admin") -> User:
        """Create an admin account (the CLI and the development seed use this)."""
        return await self._create(email, password, name, Role.ADMIN)

    async def _create(self, email: str, password: str, name: str, role: Role) -> User:
        email = normalize_email(email)
        if reserved_domain(email):
            raise UndeliverableEmail(field="email")
        check_password(password, email=email, name=name)
        async with self.database.session() as session:
            if await UserRepository(session).email_taken(email):
                raise EmailTaken(field="email")
        password_hash = await self.passwords.hash(password)
        async with self.database.unit_of_work() as uow:
            user = User(email=email, name=name, password_hash=password_hash, role=role.value)
            UserRepository(uow.session).add(user)
            try:
                await uow.commit()
            except IntegrityError:
                raise EmailTaken(field="email") from None
        return user

    async def get(self, user_id: uuid.UUID, *, viewer: Principal) -> User:
        """A user as `viewer` may see it: admins see everyone, users themselves."""
        if not _may_see(viewer, user_id):
            raise UserNotFound()
        async with self.database.session() as session:
            user = await UserRepository(session).get(user_id)
        if user is None:
            raise UserNotFound()
        return user

    async def summaries(self, user_ids: set[uuid.UUID]) -> dict[uuid.UUID, UserSummary]:
        """Who these users are, in one query (deleted users included: history refers to them)."""
        if not user_ids:
            return {}
        async with self.database.session() as session:
            rows = await session.execute(
                select(User.id, User.email, User.name).where(User.id.in_(user_ids))
            )
            return {row.id: UserSummary(id=row.id, email=row.email, name=row.name) for row in rows}

    async def list(self, query: CollectionQuery) -> PageResult[User]:
        async with self.database.session() as session:
            return await query.paginator.fetch(session, query.where(UserRepository.live()))

    async def update(
        self,
        user_id: uuid.UUID,
        changes: UserUpdate,
        *,
        actor: Principal,
        expected_version: int | None = None,
    ) -> User:
        """Change email, name or (admins only) role."""
        if not _may_see(actor, user_id):
            raise UserNotFound()
        role_changed = False
        async with self.database.unit_of_work() as uow:
            users = UserRepository(uow.session)
            user = await _locked(users, user_id, expected_version)
            if changes.role is not MISSING and changes.role != user.role:
                if not actor.has_role(Role.ADMIN):
                    raise RoleChangeForbidden(field="role")
                if user.role == Role.ADMIN and await users.count_admins() <= 1:
                    raise LastAdmin(field="role")
                user.role = changes.role.value
                user.tokens_valid_after = utcnow()
                role_changed = True
            await _apply_profile(users, user, changes.email, changes.name)
            await uow.commit()
        if role_changed and user.tokens_valid_after is not None:
            await self.revocations.announce_user(user.id, user.tokens_valid_after)
        return user

    async def update_self(
        self, changes: UserSelfUpdate, *, actor: Principal, expected_version: int | None = None
    ) -> User:
        """Change one's own profile; a new email or password needs the current password."""
        if changes.email is not MISSING or changes.password is not MISSING:
            current = changes.current_password
            await self._confirm_password(actor.id, None if current is MISSING else current)
        new_hash = None
        if changes.password is not MISSING:
            user = await self.get(actor.id, viewer=actor)
            email = user.email if changes.email is MISSING else normalize_email(changes.email)
            name = user.name if changes.name is MISSING else changes.name
            check_password(changes.password, email=email, name=name)
            new_hash = await self.passwords.hash(changes.password)
        ended: list[uuid.UUID] = []
        async with self.database.unit_of_work() as uow:
            users = UserRepository(uow.session)
            user = await _locked(users, actor.id, expected_version)
            await _apply_profile(users, user, changes.email, changes.name)
            if new_hash is not None:
                user.password_hash = new_hash
                # Other sign-ins end; the one that changed the password stays.
                sessions = SessionRepository(uow.session)
                ended = [s for s in await sessions.live_ids(user.id) if s != actor.session_id]
                for session_id in ended:
                    await sessions.revoke(session_id, utcnow(), "password_changed")
            await uow.commit()
        for session_id in ended:
            await self.revocations.announce_session(session_id)
        return user

    async def delete(self, user_id: uuid.UUID, *, actor: Principal) -> None:
        """Delete an account: it disappears from reads and all its tokens stop working."""
        now = utcnow()
        async with self.database.unit_of_work() as uow:
            users = UserRepository(uow.session)
            user = await users.lock(user_id)
            if user is None:
                raise UserNotFound()
            if user.role == Role.ADMIN and await users.count_admins() <= 1:
                raise LastAdmin()
            user.deleted_at = now
            user.tokens_valid_after = now
            await SessionRepository(uow.session).revoke_all_of(user.id, now, "user_deleted")
            await uow.commit()
        await self.revocations.announce_user(user_id, now)
        log.info("user_deleted", user_id=str(user_id), by=str(actor.id))

    async def _confirm_password(self, user_id: uuid.UUID, password: str | None) -> None:
        async with self.database.session() as session:
            user = await UserRepository(session).get(user_id)
        if user is None:
            raise UserNotFound()
        if not password or not (await self.passwords.verify(password, user.password_hash))[0]:
            raise WrongCurrentPassword(field="currentPassword")


def _may_see(viewer: Principal, user_id: uuid.UUID) -> bool:
    if viewer.is_user:
        return viewer.id == user_id or viewer.has_role(Role.ADMIN)
    return viewer.has_scope(Scope.USERS_READ)


async def _locked(users: UserRepository, user_id: uuid.UUID, expected_version: int | None) -> User:
    user = await users.lock(user_id)
    if user is None:
        raise UserNotFound()
    if expected_version is not None and user.version != expected_version:
        raise PreconditionFailed(field="If-Match")
    return user


async def _apply_profile(
    users: UserRepository, user: User, email: str | MISSING, name: str | MISSING
) -> None:
    if email is not MISSING:
        normalized = normalize_email(email)
        if reserved_domain(normalized):
            raise UndeliverableEmail(field="email")
        if normalized != user.email:
            if await users.email_taken(normalized, other_than=user.id):
                raise EmailTaken(field="email")
            user.email = normalized
    if name is not MISSING:
        user.name = name
