"""Who may see and change which orders: their customer, admins, and back-office API keys."""

from agora.platform.security import Principal


def sees_all_orders(viewer: Principal) -> bool:
    """Admins, and API keys with `orders:read` (or `orders:write`); others see their own."""
    return viewer.has_role("admin") if viewer.is_user else viewer.has_scope("orders:read")


def manages_orders(actor: Principal) -> bool:
    """Admins, and API keys with `orders:write`: every status change on every order."""
    return actor.has_role("admin") if actor.is_user else actor.has_scope("orders:write")
