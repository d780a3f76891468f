"""Circuit breakers for calls to services outside Agora (payment and AI providers).

After `threshold` consecutive failures a breaker opens: calls fail at once with
`DependencyUnavailable` (503 + Retry-After) instead of waiting on a dead service; after `ttl`
seconds one trial call goes through (half-open) and a success closes it again. purgatory keeps
the state; each instance has its own breakers, which is what a breaker wants (it protects this
process's threads and connections).
"""

from collections.abc import Awaitable, Callable
from typing import TypeVar

from purgatory import AsyncCircuitBreakerFactory
from purgatory.domain.model import OpenedState

from agora.platform.errors import DependencyUnavailable

T = TypeVar("T")


class Breakers:
    def __init__(self, threshold: int, ttl: float) -> None:
        self.threshold = threshold
        self.ttl = ttl
        self._factory = AsyncCircuitBreakerFactory(default_threshold=threshold, default_ttl=ttl)

    async def call(self, name: str, what: str, call: Callable[[], Awaitable[T]]) -> T:
        """Run `call` through the breaker `name`; 503 (naming `what`) while it is open."""
        try:
            async with await self._factory.get_breaker(name):
                return await call()
        except OpenedState:
            raise DependencyUnavailable(
                f"The {what} is failing; calls are paused for up to {int(self.ttl)} s.",
                headers={"Retry-After": str(max(1, int(self.ttl)))},
                field=what.replace(" ", "_"),
                code="circuit_open",
            ) from None

    async def state(self, name: str) -> str:
        breaker = await self._factory.get_breaker(name)
        return str(breaker.context.state)
