"""Calling the payment provider safely: timeout per call, retries, circuit breaker.

Retries are safe because every call carries Agora's idempotency key for the operation (the
payment or refund id): the provider answers a repeated key with the first result. Only failures
to answer are retried (timeouts, outages); a decline is an answer. Repeated failures open the
`payments` breaker, and further calls fail at once with 503 until the provider recovers.
"""

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from tenacity import (
    AsyncRetrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential_jitter,
)

from agora.payments.provider import Charge, PaymentProvider, ProviderError
from agora.platform.breaker import Breakers
from agora.platform.observability import get_logger

T = TypeVar("T")
BREAKER = "payments"

log = get_logger("agora.payments.gateway")


class ProviderUnreachable(Exception):
    """Every attempt failed to get an answer; `timed_out` if any ran out of time (it may then
    have been carried out)."""

    def __init__(self, timed_out: bool) -> None:
        super().__init__("the payment provider did not answer")
        self.timed_out = timed_out


class PaymentGateway:
    def __init__(
        self, provider: PaymentProvider, breakers: Breakers, *, timeout: float, attempts: int
    ) -> None:
        self.provider = provider
        self.breakers = breakers
        self.timeout = timeout
        self.attempts = attempts

    async def charge(
        self, *, amount_cents: int, currency: str, payment_method: str, idempotency_key: str
    ) -> Charge:
        return await self._call(
            lambda: self.provider.charge(
                amount_cents=amount_cents,
                currency=currency,
                payment_method=payment_method,
                idempotency_key=idempotency_key,
            )
        )

    async def refund(
        self, *, charge_reference: str, amount_cents: int, idempotency_key: str
    ) -> str:
        return await self._call(
            lambda: self.provider.refund(
                charge_reference=charge_reference,
                amount_cents=amount_cents,
                idempotency_key=idempotency_key,
            )
        )

    async def _call(self, call: Callable[[], Awaitable[T]]) -> T:
        async def with_retries() -> T:
            retrying = AsyncRetrying(
                stop=stop_after_attempt(self.attempts),
                wait=wait_exponential_jitter(multiplier=0.05, max=1.0),
                retry=retry_if_exception_type((ProviderError, TimeoutError)),
                reraise=True,
            )
            timed_out = False  # any attempt: an unanswered call may have been carried out
            try:
                async for attempt in retrying:
                    with attempt:
                        try:
                            async with asyncio.timeout(self.timeout):
                                return await call()
                        except TimeoutError:
                            timed_out = True
                            raise
            except (ProviderError, TimeoutError) as error:
                log.warning("payment_provider_failed", error=str(error) or type(error).__name__)
                raise ProviderUnreachable(timed_out=timed_out) from error
            raise AssertionError("unreachable")  # pragma: no cover

        return await self.breakers.call(BREAKER, "payment provider", with_retries)
