"""Who may see and change which orders: their customer, admins, and back-office API keys."""

from agora.platform.security import Principal, Role, Scope


def sees_all_orders(viewer: Principal) -> bool:
    """Admins, and API keys with `orders:read` (or `orders:write`); others see their own."""
    return viewer.has_role(Role.ADMIN) if viewer.is_user else viewer.has_scope(Scope.ORDERS_READ)


def manages_orders(actor: Principal) -> bool:
    """Admins, and API keys with `orders:write`: every status change on every order."""
    return actor.has_role(Role.ADMIN) if actor.is_user else actor.has_scope(Scope.ORDERS_WRITE)
