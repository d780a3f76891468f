"""Liveness and readiness probes.

`/health` answers as long as the process serves HTTP (no dependency is touched), so that an
orchestrator restarts only processes that are really stuck. `/ready` checks every dependency
registered with `Readiness` and answers 503 with `Retry-After` when one is down, so that a load
balancer stops sending traffic without the process being killed.
"""

import asyncio
from collections.abc import Awaitable, Callable
from typing import Annotated, Literal

from fastapi import Depends, Request

from agora.platform.envelope import Envelope
from agora.platform.errors import DependencyUnavailable, FieldError
from agora.platform.observability import get_logger
from agora.platform.routing import api_router
from agora.platform.schemas import ApiModel

log = get_logger("agora.health")

ReadinessCheck = Callable[[], Awaitable[None]]


class Readiness:
    """The dependencies `/ready` checks, by name (database, cache, broker...)."""

    def __init__(self, timeout: float, retry_after: int) -> None:
        self.timeout = timeout
        self.retry_after = retry_after
        self._checks: dict[str, ReadinessCheck] = {}

    def add(self, name: str, check: ReadinessCheck) -> None:
        self._checks[name] = check

    async def _run(self, name: str, check: ReadinessCheck) -> FieldError | None:
        try:
            async with asyncio.timeout(self.timeout):
                await check()
        except Exception as exc:
            log.warning("not_ready", dependency=name, error_type=type(exc).__name__)
            reason = "did not answer in time" if isinstance(exc, TimeoutError) else "is unreachable"
            return FieldError(name, "unavailable", f"The {name} {reason}.")
        return None

    async def failures(self) -> list[FieldError]:
        results = await asyncio.gather(*(self._run(n, c) for n, c in self._checks.items()))
        return [result for result in results if result is not None]

    @property
    def names(self) -> list[str]:
        return list(self._checks)


async def get_readiness(request: Request) -> Readiness:
    readiness: Readiness = request.app.state.readiness
    return readiness


class Health(ApiModel):
    status: Literal["ok"]


class Ready(ApiModel):
    status: Literal["ready"]
    checks: dict[str, Literal["ok"]]


router = api_router(tags=["operations"])


@router.get("/health")
async def health() -> Envelope[Health]:
    """Liveness: the process is up and serving HTTP."""
    return Envelope(data=Health(status="ok"))


@router.get("/ready")
async def ready(readiness: Annotated[Readiness, Depends(get_readiness)]) -> Envelope[Ready]:
    """Readiness: every dependency answers (503 with Retry-After otherwise)."""
    failures = await readiness.failures()
    if failures:
        raise DependencyUnavailable(
            "Not ready: " + ", ".join(f"{error.field} unavailable" for error in failures) + ".",
            errors=failures,
            headers={"Retry-After": str(readiness.retry_after)},
        )
    return Envelope(data=Ready(status="ready", checks=dict.fromkeys(readiness.names, "ok")))
