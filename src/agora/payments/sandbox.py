"""A payment provider that behaves like a card processor, without the network.

Test cards (as processors document them):
- `pm_card_visa`, `pm_card_mastercard`: succeed;
- `pm_card_declined`, `pm_card_insufficient_funds`: declined;
- `pm_card_error`: the provider fails like an outage (an error answer);
- `pm_card_timeout`: the provider never answers in time;
- `pm_card_flaky`: the charge goes through, but the first answer is lost on the way back
  (a timeout); asking again with the same key returns that charge, as a real processor does.
Anything else is declined as `invalid_payment_method`. Charges are idempotent by key, and the
sandbox counts them, so tests can prove that nothing is charged twice. `outage` turns every call
into a failure (a provider that is down), until it is turned off; `refund_answers_lost` carries
refunds out but loses every answer (a timeout), until it is turned off.
"""

import asyncio
import secrets
from dataclasses import dataclass, field

from agora.payments.provider import Charge, ProviderError

SUCCEEDS = frozenset({"pm_card_visa", "pm_card_mastercard"})
DECLINES = {"pm_card_declined": "card_declined", "pm_card_insufficient_funds": "insufficient_funds"}


@dataclass
class _Charged:
    charge: Charge
    amount_cents: int
    refunded_cents: int = 0


@dataclass
class SandboxProvider:
    latency: float = 0.04
    name: str = "sandbox"
    outage: bool = False
    refund_answers_lost: bool = False
    charges: dict[str, _Charged] = field(default_factory=dict)
    refunds: dict[str, str] = field(default_factory=dict)
    attempts: dict[str, int] = field(default_factory=dict)

    async def charge(
        self, *, amount_cents: int, currency: str, payment_method: str, idempotency_key: str
    ) -> Charge:
        del currency
        self.attempts[idempotency_key] = self.attempts.get(idempotency_key, 0) + 1
        await asyncio.sleep(self.latency)
        if self.outage or payment_method == "pm_card_error":
            raise ProviderError("the payment processor answered 502 Bad Gateway")
        if payment_method == "pm_card_timeout":
            await asyncio.sleep(3600)
        existing = self.charges.get(idempotency_key)
        if existing is not None:
            return existing.charge
        reference = "ch_" + secrets.token_hex(12)
        if payment_method in SUCCEEDS or payment_method == "pm_card_flaky":
            charge = Charge(reference, succeeded=True)
        else:
            charge = Charge(
                reference,
                succeeded=False,
                decline_code=DECLINES.get(payment_method, "invalid_payment_method"),
            )
        self.charges[idempotency_key] = _Charged(charge, amount_cents)
        if payment_method == "pm_card_flaky" and self.attempts[idempotency_key] == 1:
            await asyncio.sleep(3600)  # charged, but the answer never arrives
        return charge

    async def refund(
        self, *, charge_reference: str, amount_cents: int, idempotency_key: str
    ) -> str:
        await asyncio.sleep(self.latency)
        if self.outage:
            raise ProviderError("the payment processor answered 503 Service Unavailable")
        if idempotency_key in self.refunds:
            return await self._answer(self.refunds[idempotency_key])
        charged = next(
            (c for c in self.charges.values() if c.charge.reference == charge_reference), None
        )
        if charged is None or not charged.charge.succeeded:
            raise ProviderError(f"no successful charge {charge_reference}")
        if charged.refunded_cents + amount_cents > charged.amount_cents:
            raise ProviderError("refund larger than the charge")
        charged.refunded_cents += amount_cents
        reference = "re_" + secrets.token_hex(12)
        self.refunds[idempotency_key] = reference
        return await self._answer(reference)

    async def _answer(self, reference: str) -> str:
        if self.refund_answers_lost:
            await asyncio.sleep(3600)  # refunded, but the answer never arrives
        return reference

    def refunded_cents(self) -> int:
        """Money actually paid back (whatever number of requests asked)."""
        return sum(c.refunded_cents for c in self.charges.values())

    def charge_count(self) -> int:
        """Successful charges actually made (whatever number of requests asked)."""
        return sum(1 for c in self.charges.values() if c.charge.succeeded)
