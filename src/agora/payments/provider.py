"""The contract of a payment provider, as Agora uses it."""

from dataclasses import dataclass
from typing import Protocol


class ProviderError(Exception):
    """The provider failed to answer (outage, 5xx, network): retrying may help."""


@dataclass(frozen=True)
class Charge:
    reference: str
    succeeded: bool
    decline_code: str | None = None


class PaymentProvider(Protocol):
    name: str

    async def charge(
        self, *, amount_cents: int, currency: str, payment_method: str, idempotency_key: str
    ) -> Charge:
        """Charge once per key: repeating a key returns the first result, never a new charge."""
        ...

    async def refund(
        self, *, charge_reference: str, amount_cents: int, idempotency_key: str
    ) -> str:
        """Refund part or all of a charge, once per key; the refund's reference."""
        ...
