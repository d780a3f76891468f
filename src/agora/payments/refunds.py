"""Payments' side of `agora.ordering.billing.Refunds`: refunds for cancelled paid orders."""

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from agora.payments.models import Refund
from agora.payments.repository import PaymentRepository
from agora.payments.service import PaymentService
from agora.platform.ids import new_id


class OrderRefunds:
    def __init__(self, payments: PaymentService) -> None:
        self.payments = payments

    async def reserve_full_refund(
        self, session: AsyncSession, order_id: uuid.UUID
    ) -> list[uuid.UUID]:
        repository = PaymentRepository(session)
        payment = await repository.succeeded_for_order(order_id)
        if payment is None:
            return []
        remaining = payment.amount_cents - payment.refunded_cents
        if remaining <= 0:
            return []
        payment.refunded_cents += remaining
        refund = Refund(
            id=new_id(),
            payment_id=payment.id,
            amount_cents=remaining,
            status="pending",
            reason="order_cancelled",
        )
        repository.add(refund)
        return [refund.id]

    async def execute(self, refund_ids: list[uuid.UUID]) -> None:
        await self.payments.execute_refunds(refund_ids)
