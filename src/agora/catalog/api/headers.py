"""Cache-Control for catalog reads: public for anonymous readers, private otherwise."""

from datetime import UTC, datetime
from email.utils import format_datetime
from functools import cache

from agora.platform.http.caching import PRIVATE, public
from agora.platform.security import Principal
from agora.settings import Settings

# v2 of products shipped on this day; v1 product responses announce it (RFC 9745).
V2_RELEASED = datetime(2026, 11, 24, tzinfo=UTC)


def read_policy(viewer: Principal | None, settings: Settings) -> tuple[str, dict[str, str]]:
    """(Cache-Control, extra headers) for a catalog read by `viewer`."""
    if viewer is None:
        return public(settings.public_max_age), {"Vary": "Authorization, X-API-Key"}
    return PRIVATE, {}


def deprecation(settings: Settings, successor: str) -> dict[str, str]:
    """Headers that tell v1 clients about v2 (RFC 9745 Deprecation, RFC 8594 Sunset)."""
    return {
        "Deprecation": _DEPRECATION,
        "Sunset": _sunset(settings.v1_products_sunset),
        "Link": f'<{successor}>; rel="successor-version"',
    }


_DEPRECATION = f"@{int(V2_RELEASED.timestamp())}"


@cache
def _sunset(day: str) -> str:
    return format_datetime(datetime.fromisoformat(day).replace(tzinfo=UTC), usegmt=True)
