"""What a module declares about its own paths, for the layers in front of the routes.

The platform's middleware knows no module: each module states, when it is installed, which of
its paths take the strict sign-in rate limit, which must never have their answers stored under
an Idempotency-Key, which accept larger bodies, and which resources it serves in later API
versions. The
app factory adds the modules' rules together and hands them to `middleware_stack`.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class PathRules:
    strict_rate_limit: tuple[str, ...] = ()
    """Path prefixes limited per client IP at the sign-in rate, each hit decided exactly."""
    never_stored: tuple[str, ...] = ()
    """Path prefixes whose answers hand out secrets: never kept for an Idempotency-Key replay."""
    body_limits: tuple[tuple[str, int], ...] = ()
    """(path prefix, bytes): paths that stream files larger than the JSON and upload limits."""
    versioned: tuple[tuple[int, str], ...] = ()
    """(version, first path segment) of each resource served in a version after v1."""

    def __add__(self, other: "PathRules") -> "PathRules":
        return PathRules(
            strict_rate_limit=self.strict_rate_limit + other.strict_rate_limit,
            never_stored=self.never_stored + other.never_stored,
            body_limits=self.body_limits + other.body_limits,
            versioned=self.versioned + other.versioned,
        )

    def versions(self) -> dict[int, frozenset[str]]:
        """The version table of `ApiVersionMiddleware`: version -> the resources it serves."""
        table: dict[int, set[str]] = {}
        for number, resource in self.versioned:
            table.setdefault(number, set()).add(resource)
        return {number: frozenset(resources) for number, resources in table.items()}
