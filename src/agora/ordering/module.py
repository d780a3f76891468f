"""How ordering plugs into an Agora instance: its wiring (used by `agora.app` only).

The use cases are built once, here, from the instance's database and clock and from the other
contexts' public services, passed in: the catalog's products and inventory, identity's users,
and the `Refunds` payments implements. The routes reach them through this context's one
`app.state.ordering` key.
"""

from dataclasses import dataclass
from datetime import timedelta

from fastapi import FastAPI

from agora.catalog import InventoryService, ProductService
from agora.identity import UserService
from agora.jobs import JobHandler, JobQueue
from agora.ordering.api import reports_router, router
from agora.ordering.billing import Refunds
from agora.ordering.reports import JOB_TYPE, ReportService, SalesReport
from agora.ordering.service.commands import ChangeOrderStatus, ExpireUnpaidOrders, PlaceOrder
from agora.ordering.service.queries import OrderReads
from agora.platform.jobs import Scheduler
from agora.platform.runtime import Runtime


@dataclass(frozen=True)
class OrderingServices:
    place: PlaceOrder
    change_status: ChangeOrderStatus
    reads: OrderReads
    expire: ExpireUnpaidOrders
    reports: ReportService


class OrderingModule:
    def __init__(
        self,
        runtime: Runtime,
        *,
        products: ProductService,
        inventory: InventoryService,
        users: UserService,
        refunds: Refunds,
        jobs: JobQueue,
    ) -> None:
        settings = runtime.settings
        database, clock = runtime.database, runtime.clock
        self.expire_every = settings.order_expiry_every_seconds
        self.services = OrderingServices(
            place=PlaceOrder(
                database,
                clock,
                products=products,
                inventory=inventory,
                payment_window=timedelta(seconds=settings.order_payment_window_seconds),
            ),
            change_status=ChangeOrderStatus(database, clock, inventory=inventory, refunds=refunds),
            reads=OrderReads(database, products=products, users=users),
            expire=ExpireUnpaidOrders(database, clock, inventory=inventory),
            reports=ReportService(database, jobs),
        )
        self.job_handlers: dict[str, JobHandler] = {
            JOB_TYPE: SalesReport(database, runtime.storage)
        }

    def install(self, app: FastAPI) -> None:
        app.state.ordering = self.services
        app.include_router(router)
        app.include_router(reports_router)

    def schedule(self, scheduler: Scheduler) -> None:
        scheduler.every(self.expire_every, "expire_unpaid_orders", self.services.expire)
