"""What a module declares about its own paths, for the layers in front of the routes.

The platform's middleware knows no module: each module states, when it is installed, which of
its paths take the strict sign-in rate limit, which must never have their answers stored under
an Idempotency-Key, which accept larger bodies, and which resources it serves in API v2. The
app factory adds the modules' rules together and hands them to `middleware_stack`.
"""

from dataclasses import dataclass, field


@dataclass(frozen=True)
class PathRules:
    strict_rate_limit: tuple[str, ...] = ()
    """Path prefixes limited per client IP at the sign-in rate, each hit decided exactly."""
    never_stored: tuple[str, ...] = ()
    """Path prefixes whose answers hand out secrets: never kept for an Idempotency-Key replay."""
    body_limits: tuple[tuple[str, int], ...] = ()
    """(path prefix, bytes): paths that stream files larger than the JSON and upload limits."""
    v2_resources: frozenset[str] = field(default_factory=frozenset)
    """First path segments that `/api/v2` serves (every other resource is the same in v1)."""

    def __add__(self, other: "PathRules") -> "PathRules":
        return PathRules(
            strict_rate_limit=self.strict_rate_limit + other.strict_rate_limit,
            never_stored=self.never_stored + other.never_stored,
            body_limits=self.body_limits + other.body_limits,
            v2_resources=self.v2_resources | other.v2_resources,
        )
