import hashlib
import hmac
import re
import secrets
import uuid
from datetime import datetime

from agora.identity.errors import ApiKeyNotFound, InvalidApiKey
from agora.identity.models import ApiKey
from agora.identity.repository import ApiKeyRepository
from agora.identity.schemas import ApiKeyCreate
from agora.platform.broadcast import Broadcast
from agora.platform.db import Database, utcnow
from agora.platform.errors import FieldError, RuleViolation, ValidationFailed
from agora.platform.pagination import PageResult
from agora.platform.querying import CollectionQuery
from agora.platform.security import GRANTABLE_SCOPES, Principal

KEY_PREFIX = "agora_"
CHANNEL = "identity.api_keys"


_KEY_SHAPE = re.compile(rf"{KEY_PREFIX}([0-9a-f]{{12}})_[A-Za-z0-9_-]{{32,100}}")


def split_key(key: str) -> tuple[str, str] | None:
    """`agora_<prefix>_<secret>` -> (prefix, full key); None if it is not shaped like a key.

    Only the exact shape Agora issues reaches the database, so a key of garbage (control
    characters, say) is a 401 like any other wrong key, never a driver error.
    """
    match = _KEY_SHAPE.fullmatch(key)
    if match is None:
        return None
    return match.group(1), key


def digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class ApiKeyService:
    def __init__(self, database: Database, broadcast: Broadcast) -> None:
        self.database = database
        self.broadcast = broadcast

    async def create(self, data: ApiKeyCreate, *, actor: Principal) -> tuple[ApiKey, str]:
        """Create a key; the secret is returned here once and stored only as a hash."""
        unknown = sorted(set(data.scopes) - GRANTABLE_SCOPES)
        if unknown:
            raise ValidationFailed(
                errors=[
                    FieldError("scopes", "unknown_scope", f"Unknown scope {scope!r}.")
                    for scope in unknown
                ]
            )
        if data.expires_at is not None and data.expires_at <= utcnow():
            raise RuleViolation("The expiry must be in the future.", field="expiresAt")
        prefix = secrets.token_hex(6)
        key = f"{KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
        row = ApiKey(
            name=data.name,
            prefix=prefix,
            key_hash=digest(key),
            scopes=sorted(set(data.scopes)),
            created_by=actor.id if actor.is_user else None,
            expires_at=data.expires_at,
        )
        async with self.database.unit_of_work() as uow:
            ApiKeyRepository(uow.session).add(row)
            await uow.commit()
        return row, key

    async def list(self, query: CollectionQuery) -> PageResult[ApiKey]:
        async with self.database.session() as session:
            return await query.paginator.fetch(session, query.where(ApiKeyRepository.listing()))

    async def revoke(self, key_id: uuid.UUID) -> None:
        async with self.database.unit_of_work() as uow:
            row = await ApiKeyRepository(uow.session).get(key_id)
            if row is None:
                raise ApiKeyNotFound()
            if row.revoked_at is None:
                row.revoked_at = utcnow()
                await uow.commit()
        await self.broadcast.publish(CHANNEL, {"revoked": str(key_id)})

    async def authenticate(self, key: str) -> tuple[Principal, datetime | None]:
        """The principal of a valid key and when the key expires; `InvalidApiKey` otherwise."""
        parts = split_key(key)
        if parts is None:
            raise InvalidApiKey()
        async with self.database.session() as session:
            row = await ApiKeyRepository(session).get_by_prefix(parts[0])
        if row is None or not hmac.compare_digest(row.key_hash, digest(key)):
            raise InvalidApiKey()
        if row.revoked_at is not None or (
            row.expires_at is not None and row.expires_at <= utcnow()
        ):
            raise InvalidApiKey()
        return Principal(kind="api_key", id=row.id, scopes=frozenset(row.scopes)), row.expires_at

    async def touch(self, key_id: uuid.UUID) -> None:
        async with self.database.unit_of_work() as uow:
            await ApiKeyRepository(uow.session).touch(key_id, utcnow())
            await uow.commit()
