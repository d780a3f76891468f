"""Who a request is from, read the same way by every layer that needs it.

The probes are polled by orchestrators, so no layer limits, redirects or counts them. A caller
is keyed by its principal once the access layer has identified one (`user:<id>` or
`api_key:<id>`), and by its client address otherwise (`ip:<address>`).
"""

from starlette.types import Scope

PROBE_PATHS = frozenset({"/health", "/ready"})


def client_key(scope: Scope) -> str:
    """`ip:<address>` of the connection (after trusted proxies rewrote it, if any)."""
    client = scope.get("client")
    return "ip:" + (client[0] if client else "unknown")


def caller_key(scope: Scope) -> str:
    """The identified principal's key, or the client's when the request is anonymous."""
    principal = scope.get("state", {}).get("principal")
    if principal is not None:
        key: str = principal.rate_key
        return key
    return client_key(scope)
