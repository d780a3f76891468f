"""What the identity collections may be filtered and sorted by."""

import uuid
from datetime import datetime

from agora.identity.models import ApiKey, User
from agora.identity.schemas import ApiKeyRead, UserRead
from agora.platform.pagination import SortField
from agora.platform.querying import CollectionSpec, Filter
from agora.platform.schemas import api_fields
from agora.platform.security import Role

USERS = CollectionSpec(
    name="users",
    filters=(
        Filter("role", Role, lambda role: User.role == role.value, "Only users with this role."),
    ),
    sorts=(
        SortField("createdAt", User.created_at, datetime),
        SortField("email", User.email, str),
        SortField("name", User.name, str),
    ),
    default_sort="-createdAt",
    tiebreaker=SortField("id", User.id, uuid.UUID),
    fields=api_fields(UserRead),
)

API_KEYS = CollectionSpec(
    name="api-keys",
    filters=(),
    sorts=(SortField("createdAt", ApiKey.created_at, datetime),),
    default_sort="-createdAt",
    tiebreaker=SortField("id", ApiKey.id, uuid.UUID),
    fields=api_fields(ApiKeyRead),
)
