"""How ordering plugs into an Agora instance (used by `agora.app` only)."""

from fastapi import FastAPI

from agora.ordering.api import router
from agora.ordering.commands import ExpireUnpaidOrders
from agora.platform.jobs import Scheduler
from agora.platform.runtime import Runtime


class OrderingModule:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.expire = ExpireUnpaidOrders(runtime)

    def install(self, app: FastAPI) -> None:
        app.include_router(router)

    def schedule(self, scheduler: Scheduler) -> None:
        scheduler.every(
            self.runtime.settings.order_expiry_every_seconds, "expire_unpaid_orders", self.expire
        )
