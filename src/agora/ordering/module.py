"""How ordering plugs into an Agora instance (used by `agora.app` only).

The use cases are built once, here, with what they use; the routes reach them through this
context's one `app.state.ordering` key. Payments is passed in as the `Refunds` it implements.
"""

from dataclasses import dataclass

from fastapi import FastAPI

from agora.ordering.api import router
from agora.ordering.billing import Refunds
from agora.ordering.commands import ChangeOrderStatus, ExpireUnpaidOrders, PlaceOrder
from agora.ordering.queries import OrderReads
from agora.platform.jobs import Scheduler
from agora.platform.runtime import Runtime


@dataclass(frozen=True)
class OrderingServices:
    place: PlaceOrder
    change_status: ChangeOrderStatus
    reads: OrderReads
    expire: ExpireUnpaidOrders


class OrderingModule:
    def __init__(self, runtime: Runtime, *, refunds: Refunds) -> None:
        self.expire_every = runtime.settings.order_expiry_every_seconds
        self.services = OrderingServices(
            place=PlaceOrder(runtime),
            change_status=ChangeOrderStatus(runtime, refunds),
            reads=OrderReads(runtime),
            expire=ExpireUnpaidOrders(runtime),
        )

    def install(self, app: FastAPI) -> None:
        app.state.ordering = self.services
        app.include_router(router)

    def schedule(self, scheduler: Scheduler) -> None:
        scheduler.every(self.expire_every, "expire_unpaid_orders", self.services.expire)
