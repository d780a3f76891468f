"""The names authorization speaks in, in one place: users' roles and API keys' scopes.

Modules check them with `authorize(Role.ADMIN, scope=Scope.ORDERS_READ)` and
`Principal.has_role(...)`; identity stores them on users and API keys.
"""

from enum import StrEnum


class Role(StrEnum):
    CUSTOMER = "customer"
    EDITOR = "editor"
    ADMIN = "admin"


class Scope(StrEnum):
    """What an API key may be allowed to do; `x:write` includes `x:read`."""

    PRODUCTS_READ = "products:read"
    PRODUCTS_WRITE = "products:write"
    INVENTORY_WRITE = "inventory:write"
    ORDERS_READ = "orders:read"
    ORDERS_WRITE = "orders:write"
    PAYMENTS_READ = "payments:read"
    PAYMENTS_WRITE = "payments:write"
    EVENTS_READ = "events:read"
    WEBHOOKS_WRITE = "webhooks:write"
    USERS_READ = "users:read"


GRANTABLE_SCOPES = frozenset(Scope) - {Scope.PAYMENTS_READ}
"""The scopes an API key can be given; reading payments comes only with `payments:write`."""
