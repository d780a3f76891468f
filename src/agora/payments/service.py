"""Payment use cases: pay an order, refund a payment, settle what was left uncertain."""

import contextlib
import uuid
from datetime import timedelta

from sqlalchemy.exc import IntegrityError

from agora.ordering import OrderPayments, OrderStatus
from agora.payments.domain import check_refund, refundable
from agora.payments.errors import (
    OrderAlreadyPaid,
    OrderNotPayable,
    PaymentDeclined,
    PaymentInProgress,
    PaymentNotFound,
)
from agora.payments.events import PaymentFailed, PaymentSucceeded, RefundCreated
from agora.payments.gateway import PaymentGateway, ProviderUnreachable
from agora.payments.models import Payment, Refund
from agora.payments.provider import Charge
from agora.payments.repository import PaymentRepository
from agora.payments.schemas import PaymentCreate, RefundCreate
from agora.platform import events
from agora.platform.clock import Clock
from agora.platform.db import Database
from agora.platform.errors import DependencyUnavailable
from agora.platform.idempotency import NO_KEY, Attempt
from agora.platform.ids import new_id
from agora.platform.observability import get_logger
from agora.platform.security import Principal, Role, Scope

log = get_logger("agora.payments")

PAYMENT_RECORDED = "payment_recorded"
"""Recovery point: the payment row exists (its id is the provider's idempotency key)."""
NOT_PAYABLE = "order_not_payable"
"""The reason of the refund given when an order was cancelled while its charge ran."""
REFUND_RESERVED = "refund_reserved"
"""Recovery point: the refund is reserved against the payment."""


class PaymentService:
    def __init__(
        self,
        database: Database,
        clock: Clock,
        gateway: PaymentGateway,
        *,
        orders: OrderPayments,
        retry_after: int,
        settle_after: timedelta,
    ) -> None:
        self.database = database
        self.clock = clock
        self.gateway = gateway
        self.orders = orders
        self.retry_after = retry_after
        self.settle_after = settle_after

    async def get(self, payment_id: uuid.UUID, *, viewer: Principal) -> Payment:
        async with self.database.session() as session:
            payment = await PaymentRepository(session).get(payment_id)
        sees_all = (
            viewer.has_role(Role.ADMIN) if viewer.is_user else viewer.has_scope(Scope.PAYMENTS_READ)
        )
        if payment is None or (payment.user_id != viewer.id and not sees_all):
            raise PaymentNotFound()
        return payment

    async def pay(
        self, payer: Principal, data: PaymentCreate, attempt: Attempt = NO_KEY
    ) -> Payment:
        """Charge an order's total. Declined: 422 and the order stays pending.

        Retried under its Idempotency-Key after a crash, it finishes the payment that attempt
        recorded (asking the provider again with the same key) instead of starting another.
        """
        resumed = attempt.resumed(PAYMENT_RECORDED)
        if resumed is not None:
            payment = await self._resume(uuid.UUID(resumed["paymentId"]))
            if payment is not None:
                return payment
        order = await self.orders.payable(data.order_id, payer=payer)
        if order.status == OrderStatus.CANCELLED:
            raise OrderNotPayable("This order is cancelled and cannot be paid.", field="orderId")
        if order.status != OrderStatus.PENDING:
            raise OrderAlreadyPaid(field="orderId")
        payment = Payment(
            id=new_id(),
            order_id=order.id,
            user_id=order.user_id,
            amount_cents=order.total_cents,
            currency=order.currency,
            status="processing",
            payment_method=data.payment_method,
            provider=self.gateway.provider.name,
        )
        async with self.database.unit_of_work() as uow:
            PaymentRepository(uow.session).add(payment)
            await attempt.reach(uow.session, PAYMENT_RECORDED, paymentId=str(payment.id))
            try:
                await uow.commit()
            except IntegrityError:
                raise PaymentInProgress(field="orderId") from None
        return await self._charge(payment, first=True)

    async def _resume(self, payment_id: uuid.UUID) -> Payment | None:
        """Carry on with the payment an interrupted attempt recorded; None to start anew."""
        async with self.database.session() as session:
            payments = PaymentRepository(session)
            payment = await payments.get(payment_id)
            refunded = payment is not None and await payments.refunded_for(payment_id, NOT_PAYABLE)
        if payment is None:  # pragma: no cover - payments are never deleted
            return None
        if refunded:
            raise _cancelled_while_paying()
        if payment.status == "processing":
            return await self._charge(payment, first=False)
        if payment.status == "failed":
            if payment.failure_code == "provider_unavailable":
                return None  # it never reached the provider (see `_charge`): pay anew
            raise PaymentDeclined(
                f"The payment was declined ({payment.failure_code}); the order is still unpaid.",
                field="paymentMethod",
            )
        return payment

    async def _charge(self, payment: Payment, *, first: bool) -> Payment:
        """Ask the provider to charge `payment` (with its id as the provider's key) and record
        the answer. Only a `first` call that surely never reached the provider may mark the
        payment failed: after an earlier call, or a timeout, it may have been charged, and it
        stays `processing` for `settle` (or a retry with the same Idempotency-Key) to finish."""
        try:
            charge = await self.gateway.charge(
                amount_cents=payment.amount_cents,
                currency=payment.currency,
                payment_method=payment.payment_method,
                idempotency_key=str(payment.id),
            )
        except (DependencyUnavailable, ProviderUnreachable) as error:
            sent = not first or (isinstance(error, ProviderUnreachable) and error.timed_out)
            if sent:
                # Charged or not, nobody knows yet: `settle` asks again with the same key.
                raise DependencyUnavailable(
                    "The outcome of this payment is not known yet (the payment provider did not "
                    "answer). It will be settled shortly; do not pay this order again.",
                    headers={"Retry-After": str(self.retry_after)},
                    code="payment_outcome_unknown",
                ) from None
            await self._fail(payment.id, "provider_unavailable")
            if isinstance(error, DependencyUnavailable):
                raise  # the breaker is open: its own 503 says for how long
            raise DependencyUnavailable(
                "The payment provider is unavailable; nothing was charged. Try again shortly.",
                headers={"Retry-After": str(self.retry_after)},
                field="payment_provider",
            ) from None
        return await self._record(payment.id, charge)

    async def _record(self, payment_id: uuid.UUID, charge: Charge) -> Payment:
        if not charge.succeeded:
            failed = await self._fail(
                payment_id, charge.decline_code or "declined", charge.reference
            )
            raise PaymentDeclined(
                f"The payment was declined ({failed.failure_code}); the order is still unpaid.",
                field="paymentMethod",
            )
        now = self.clock.now()
        refund_ids: list[uuid.UUID] = []
        async with self.database.unit_of_work() as uow:
            payments = PaymentRepository(uow.session)
            payment = await payments.lock(payment_id)
            if payment is None:  # pragma: no cover - created above
                raise PaymentNotFound()
            if payment.status != "processing":
                # Recorded meanwhile (by `settle`, or a retry of the request): answer with it.
                return _already_recorded(payment)
            payment.status = "succeeded"
            payment.provider_reference = charge.reference
            events.record(uow.session, _announce(PaymentSucceeded, payment))
            if not await self.orders.mark_paid(
                uow.session, payment.order_id, payment_id=payment.id, at=now
            ):
                # The order was cancelled (or expired) while the charge ran: give it all back.
                refund = Refund(
                    id=new_id(),
                    payment_id=payment.id,
                    amount_cents=payment.amount_cents,
                    status="pending",
                    reason=NOT_PAYABLE,
                )
                payment.refunded_cents = payment.amount_cents
                payments.add(refund)
                refund_ids.append(refund.id)
            await uow.commit()
        if refund_ids:
            await self.execute_refunds(refund_ids)
            raise _cancelled_while_paying()
        return payment

    async def _fail(
        self, payment_id: uuid.UUID, code: str, reference: str | None = None
    ) -> Payment:
        async with self.database.unit_of_work() as uow:
            payment = await PaymentRepository(uow.session).lock(payment_id)
            if payment is None:  # pragma: no cover - created above
                raise PaymentNotFound()
            if payment.status != "processing":
                return payment  # recorded meanwhile: the first outcome stands
            payment.status = "failed"
            payment.failure_code = code
            payment.provider_reference = reference
            events.record(uow.session, _announce(PaymentFailed, payment))
            await uow.commit()
        return payment

    async def refund(self, data: RefundCreate, attempt: Attempt = NO_KEY) -> Refund:
        """Refund part of a payment; all refunds together never exceed what was paid."""
        resumed = attempt.resumed(REFUND_RESERVED)
        if resumed is not None:
            refund_id = uuid.UUID(resumed["refundId"])
            async with self.database.session() as session:
                earlier = await PaymentRepository(session).refund(refund_id)
            if earlier is not None and earlier.status != "failed":  # failed: released, redo
                return await self._carry_out(earlier, first=False)
        async with self.database.unit_of_work() as uow:
            payments = PaymentRepository(uow.session)
            payment = await payments.lock(data.payment_id)
            if payment is None:
                raise PaymentNotFound(field="paymentId")
            remaining = refundable(payment.status, payment.amount_cents, payment.refunded_cents)
            check_refund(data.amount_cents, remaining, payment.currency)
            payment.refunded_cents += data.amount_cents  # reserved now, under the row lock
            refund = Refund(
                id=new_id(),
                payment_id=payment.id,
                amount_cents=data.amount_cents,
                status="pending",
                reason=data.reason,
            )
            payments.add(refund)
            await attempt.reach(uow.session, REFUND_RESERVED, refundId=str(refund.id))
            await uow.commit()
        return await self._carry_out(refund, first=True)

    async def _carry_out(self, refund: Refund, *, first: bool) -> Refund:
        """Send a reserved refund to the provider. Like `_charge`: only a `first` call that surely
        never reached the provider gives the reservation back; after an earlier call, or a
        timeout, the provider may have paid it out, and it stays `pending` for `settle` (or a
        retry with the same Idempotency-Key, which sends the same refund id again)."""
        try:
            await self._send_refund(refund.id)
        except (DependencyUnavailable, ProviderUnreachable) as error:
            retry_after = {"Retry-After": str(self.retry_after)}
            sent = not first or (isinstance(error, ProviderUnreachable) and error.timed_out)
            if sent:
                raise DependencyUnavailable(
                    "The outcome of this refund is not known yet (the payment provider did not "
                    "answer). It will be settled shortly; do not refund it again.",
                    headers=retry_after,
                    code="refund_outcome_unknown",
                ) from None
            await self._release(refund.id)
            if isinstance(error, DependencyUnavailable):
                raise  # the breaker is open: its own 503 says for how long
            raise DependencyUnavailable(
                "The payment provider is unavailable; nothing was refunded. Try again.",
                headers=retry_after,
                field="payment_provider",
            ) from None
        async with self.database.session() as session:
            done = await PaymentRepository(session).refund(refund.id)
        return done or refund

    async def execute_refunds(self, refund_ids: list[uuid.UUID]) -> None:
        """Carry reserved refunds out; one the provider does not answer stays `pending` for
        `settle` (money owed must go back)."""
        for refund_id in refund_ids:
            try:
                await self._send_refund(refund_id)
            except (ProviderUnreachable, DependencyUnavailable):
                log.warning("refund_failed", refund_id=str(refund_id), then="retry")

    async def _send_refund(self, refund_id: uuid.UUID) -> None:
        """Ask the provider for a pending refund (its id is the provider's key) and record it."""
        async with self.database.session() as session:
            refund = await PaymentRepository(session).refund(refund_id)
            payment = await PaymentRepository(session).get(refund.payment_id) if refund else None
        if refund is None or payment is None or refund.status != "pending":
            return
        reference = await self.gateway.refund(
            charge_reference=payment.provider_reference or "",
            amount_cents=refund.amount_cents,
            idempotency_key=str(refund.id),
        )
        async with self.database.unit_of_work() as uow:
            row = await PaymentRepository(uow.session).refund(refund_id)
            if row is None or row.status != "pending":
                return
            row.status = "succeeded"
            row.provider_reference = reference
            events.record(
                uow.session,
                RefundCreated(
                    id=row.id,
                    payment_id=payment.id,
                    amount_cents=row.amount_cents,
                    reason=row.reason,
                ),
            )
            await uow.commit()

    async def _release(self, refund_id: uuid.UUID) -> None:
        async with self.database.unit_of_work() as uow:
            payments = PaymentRepository(uow.session)
            refund = await payments.refund(refund_id)
            if refund is None or refund.status != "pending":
                return
            payment = await payments.lock(refund.payment_id)
            refund.status = "failed"
            if payment is not None:
                payment.refunded_cents -= refund.amount_cents
            await uow.commit()

    async def settle(self) -> int:
        """Finish what an outage left open: ask again about unanswered charges (same key) and
        retry pending refunds. A periodic job; safe to run anywhere, any number of times."""
        before = self.clock.now() - self.settle_after
        async with self.database.session() as session:
            open_payments = await PaymentRepository(session).stale("processing", before, Payment)
            open_refunds = await PaymentRepository(session).stale("pending", before, Refund)
        settled = 0
        for payment_id in open_payments:
            async with self.database.session() as session:
                payment = await PaymentRepository(session).get(payment_id)
            if payment is None or payment.status != "processing":
                continue
            try:
                charge = await self.gateway.charge(
                    amount_cents=payment.amount_cents,
                    currency=payment.currency,
                    payment_method=payment.payment_method,
                    idempotency_key=str(payment.id),
                )
            except (ProviderUnreachable, DependencyUnavailable):
                continue
            with contextlib.suppress(PaymentDeclined, OrderNotPayable):
                await self._record(payment.id, charge)  # recorded: failed, or paid and refunded
            settled += 1
        await self.execute_refunds(open_refunds)
        return settled + len(open_refunds)


def _already_recorded(payment: Payment) -> Payment:
    if payment.status == "failed":
        raise PaymentDeclined(
            f"The payment was declined ({payment.failure_code}); the order is still unpaid.",
            field="paymentMethod",
        )
    return payment


def _cancelled_while_paying() -> OrderNotPayable:
    return OrderNotPayable(
        "The order was cancelled while it was being paid; the charge has been refunded.",
        field="orderId",
    )


def _announce(
    event: type[PaymentSucceeded] | type[PaymentFailed], payment: Payment
) -> PaymentSucceeded | PaymentFailed:
    return event(
        id=payment.id,
        order_id=payment.order_id,
        amount_cents=payment.amount_cents,
        currency=payment.currency,
        status=payment.status,
        failure_code=payment.failure_code,
    )
