import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from agora.payments.models import Payment, Refund


class PaymentRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, row: Payment | Refund) -> None:
        self.session.add(row)

    async def get(self, payment_id: uuid.UUID) -> Payment | None:
        payment: Payment | None = await self.session.get(Payment, payment_id)
        return payment

    async def lock(self, payment_id: uuid.UUID) -> Payment | None:
        payment: Payment | None = await self.session.scalar(
            select(Payment).where(Payment.id == payment_id).with_for_update()
        )
        return payment

    async def succeeded_for_order(self, order_id: uuid.UUID) -> Payment | None:
        payment: Payment | None = await self.session.scalar(
            select(Payment)
            .where(Payment.order_id == order_id, Payment.status == "succeeded")
            .with_for_update()
        )
        return payment

    async def refunded_for(self, payment_id: uuid.UUID, reason: str) -> bool:
        """Whether the payment has a refund given for `reason`."""
        found = await self.session.scalar(
            select(Refund.id).where(Refund.payment_id == payment_id, Refund.reason == reason)
        )
        return found is not None

    async def refund(self, refund_id: uuid.UUID) -> Refund | None:
        refund: Refund | None = await self.session.get(Refund, refund_id)
        return refund

    async def stale(
        self, status: str, before: datetime, model: type[Payment] | type[Refund]
    ) -> list[uuid.UUID]:
        rows = await self.session.scalars(
            select(model.id).where(model.status == status, model.created_at < before).limit(100)
        )
        return list(rows)
