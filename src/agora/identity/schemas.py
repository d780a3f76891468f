"""Identity DTOs. No response model has a field for a hash, a token secret or a key secret,
except the two answers whose purpose is to hand one over once (`TokenRead`, `ApiKeyCreated`)."""

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import MISSING, Field

from agora.identity.domain import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH
from agora.platform.schemas import VISIBLE, ApiInput, ApiModel, Email, Timestamp
from agora.platform.security import GRANTABLE_SCOPES, Role

Password = Field(min_length=MIN_PASSWORD_LENGTH, max_length=MAX_PASSWORD_LENGTH)
Name = Field(min_length=1, max_length=100, pattern=VISIBLE)


class UserRegister(ApiInput):
    email: Email
    password: str = Password
    name: str = Name


class UserRead(ApiModel):
    id: uuid.UUID
    email: str
    name: str
    role: Role
    created_at: datetime
    updated_at: datetime


class UserSummary(ApiModel):
    """What other modules may show of a user (orders expand to this)."""

    id: uuid.UUID
    email: str
    name: str


class UserSelfUpdate(ApiInput):
    """`PATCH /users/me` (merge patch): changing email or password needs `currentPassword`."""

    email: Email | MISSING = MISSING
    name: str | MISSING = Field(default=MISSING, min_length=1, max_length=100, pattern=VISIBLE)
    password: str | MISSING = Field(
        default=MISSING, min_length=MIN_PASSWORD_LENGTH, max_length=MAX_PASSWORD_LENGTH
    )
    current_password: str | MISSING = Field(default=MISSING, max_length=MAX_PASSWORD_LENGTH)


class UserUpdate(ApiInput):
    """`PATCH /users/{id}` (merge patch): only an admin may change `role`."""

    email: Email | MISSING = MISSING
    name: str | MISSING = Field(default=MISSING, min_length=1, max_length=100, pattern=VISIBLE)
    role: Role | MISSING = MISSING


class LoginRequest(ApiInput):
    email: str = Field(min_length=1, max_length=254)
    password: str = Field(min_length=1, max_length=MAX_PASSWORD_LENGTH)


class RefreshRequest(ApiInput):
    """For clients without cookies; browsers send the HttpOnly cookie instead."""

    refresh_token: str | None = Field(default=None, max_length=256)


class TokenRead(ApiModel):
    access_token: str
    token_type: Literal["Bearer"] = "Bearer"  # noqa: S105 - the scheme's name, not a secret
    expires_in: int


# Documented as an enum; an unknown scope is refused by the service as `unknown_scope`.
ScopeName = Annotated[
    str, Field(json_schema_extra={"enum": sorted(s.value for s in GRANTABLE_SCOPES)})
]


class ApiKeyCreate(ApiInput):
    name: str = Name
    scopes: list[ScopeName] = Field(min_length=1, max_length=20)
    expires_at: Timestamp | None = Field(
        default=None, description="ISO 8601 with an offset, e.g. 2027-01-01T00:00:00Z."
    )


class ApiKeyRead(ApiModel):
    id: uuid.UUID
    name: str
    prefix: str
    scopes: list[str]
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None


class ApiKeyCreated(ApiKeyRead):
    key: str = Field(description="The secret key. Shown this once; Agora stores only a hash.")


class Jwk(ApiModel):
    kty: str
    crv: str
    x: str
    y: str
    kid: str
    use: str
    alg: str


class Jwks(ApiModel):
    keys: list[Jwk]
