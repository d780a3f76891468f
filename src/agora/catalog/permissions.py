"""Who sees what in the catalog: the public sees active products, editors see everything."""

from agora.platform.security import Principal, Role, Scope


def sees_unpublished(viewer: Principal | None) -> bool:
    """Editors, admins and back-office API keys see draft and archived products."""
    if viewer is None:
        return False
    if viewer.is_user:
        return viewer.has_role(Role.EDITOR, Role.ADMIN)
    return viewer.has_scope(Scope.PRODUCTS_READ)
