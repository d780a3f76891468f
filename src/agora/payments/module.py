"""How payments plugs into an Agora instance: its wiring (used by `agora.app` only).

The service is built once, here, with its provider behind a gateway and ordering's
`OrderPayments` (built from ordering's public face); the routes reach it through this
context's one `app.state.payments` key. `refunds` is what ordering is given.
"""

from datetime import timedelta

from fastapi import FastAPI

from agora.ordering import OrderPayments
from agora.payments.api import router
from agora.payments.gateway import PaymentGateway
from agora.payments.refunds import OrderRefunds
from agora.payments.sandbox import SandboxProvider
from agora.payments.service import PaymentService
from agora.platform.breaker import Breakers
from agora.platform.jobs import Scheduler
from agora.platform.runtime import Runtime


class PaymentsModule:
    def __init__(self, runtime: Runtime) -> None:
        settings = runtime.settings
        self.provider = SandboxProvider(latency=settings.sandbox_latency_ms / 1000)
        self.gateway = PaymentGateway(
            self.provider,
            Breakers(settings.payment_breaker_threshold, settings.payment_breaker_reset_seconds),
            timeout=settings.payment_timeout_seconds,
            attempts=settings.payment_attempts,
        )
        self.service = PaymentService(
            runtime.database,
            runtime.clock,
            self.gateway,
            orders=OrderPayments(runtime.database),
            retry_after=settings.retry_after_seconds,
            # Charges and refunds unanswered for this long are asked about again by `settle`.
            settle_after=timedelta(
                seconds=settings.payment_timeout_seconds * settings.payment_attempts * 2
            ),
        )
        self.refunds = OrderRefunds(self.service)

    def install(self, app: FastAPI) -> None:
        app.state.payments = self
        app.include_router(router)

    def schedule(self, scheduler: Scheduler) -> None:
        scheduler.every(30, "settle_payments", self.service.settle)
