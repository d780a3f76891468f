"""How payments plug into an Agora instance (used by `agora.app` only)."""

from fastapi import FastAPI

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
        self.breakers = Breakers(
            settings.payment_breaker_threshold, settings.payment_breaker_reset_seconds
        )
        gateway = PaymentGateway(
            self.provider,
            self.breakers,
            timeout=settings.payment_timeout_seconds,
            attempts=settings.payment_attempts,
        )
        self.service = PaymentService(runtime, gateway)
        self.refunds = OrderRefunds(self.service)

    def install(self, app: FastAPI) -> None:
        app.state.payments = self.service
        app.state.refunds = self.refunds
        app.state.payment_provider = self.provider
        app.include_router(router)

    def schedule(self, scheduler: Scheduler) -> None:
        scheduler.every(30, "settle_payments", self.service.settle)
