"""Order routes: thin; commands change orders, queries read them."""

import uuid
from typing import Annotated

from fastapi import Depends, Request, Response

from agora.jobs import JobRead, job_path, job_read
from agora.ordering.reports import ReportService
from agora.ordering.schemas import OrderCreate, OrderRead, OrderStatusChange, ReportCreate
from agora.ordering.service.commands import ChangeOrderStatus, PlaceOrder
from agora.ordering.service.queries import ORDERS, OrderReads
from agora.platform.envelope import Envelope, page_of
from agora.platform.idempotency import IdempotencyAttempt
from agora.platform.querying import (
    CollectionQuery,
    collection_query,
    expand_parameter,
    parse_expand,
)
from agora.platform.responses import (
    IF_MATCH,
    if_match_version,
    json_response,
    location,
    page_response,
)
from agora.platform.routing import api_router
from agora.platform.security import CurrentUser, Principal, Role, Scope, authorize

OrdersQuery = Annotated[CollectionQuery, collection_query(ORDERS)]
# Any signed-in user (for their own orders), or a back-office API key with the scope.
OrderViewer = Annotated[Principal, authorize(scope=Scope.ORDERS_READ)]
OrderEditor = Annotated[Principal, authorize(scope=Scope.ORDERS_WRITE)]


async def order_reads(request: Request) -> OrderReads:
    reads: OrderReads = request.app.state.ordering.reads
    return reads


async def place_order(request: Request) -> PlaceOrder:
    place: PlaceOrder = request.app.state.ordering.place
    return place


async def change_status(request: Request) -> ChangeOrderStatus:
    change: ChangeOrderStatus = request.app.state.ordering.change_status
    return change


async def report_service(request: Request) -> ReportService:
    reports: ReportService = request.app.state.ordering.reports
    return reports


Reads = Annotated[OrderReads, Depends(order_reads)]
Reports = Annotated[ReportService, Depends(report_service)]
ReportReader = Annotated[Principal, authorize(Role.ADMIN, scope=Scope.ORDERS_READ)]
Place = Annotated[PlaceOrder, Depends(place_order)]
Change = Annotated[ChangeOrderStatus, Depends(change_status)]

router = api_router(prefix="/api/v1/orders", tags=["orders"])
reports_router = api_router(prefix="/api/v1", tags=["reports"])


def _order(
    order: OrderRead,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    return json_response(Envelope(data=order), status_code=status_code, headers=headers)


@router.post("", status_code=201, response_model=Envelope[OrderRead])
async def create_order(
    body: OrderCreate,
    request: Request,
    customer: CurrentUser,
    attempt: IdempotencyAttempt,
    place: Place,
    reads: Reads,
) -> Response:
    """Place an order at catalog prices; stock is taken at once (422 if there is not enough)."""
    order_id = await place(customer, body, attempt)
    order = await reads.get(customer, order_id)
    url = location(request, f"/api/v1/orders/{order_id}")
    return _order(order, status_code=201, headers={"Location": url})


@router.get("", response_model=page_of(OrderRead))
async def list_orders(query: OrdersQuery, viewer: OrderViewer, reads: Reads) -> Response:
    """Orders: one's own, or all of them for admins; `expand=user,items.product`."""
    return page_response(await reads.page(viewer, query), OrderRead, query)


@router.get("/{order_id:uuid}", response_model=Envelope[OrderRead])
async def get_order(
    order_id: uuid.UUID,
    viewer: OrderViewer,
    reads: Reads,
    expand: Annotated[str | None, expand_parameter(ORDERS.expand)] = None,
) -> Response:
    """One order (its owner or an admin; anyone else gets 404)."""
    wanted = parse_expand(expand, ORDERS.expand)
    return _order(await reads.get(viewer, order_id, wanted))


@router.patch("/{order_id:uuid}", response_model=Envelope[OrderRead], openapi_extra=IF_MATCH)
async def change_order_status(
    order_id: uuid.UUID,
    body: OrderStatusChange,
    request: Request,
    actor: OrderEditor,
    change: Change,
    reads: Reads,
) -> Response:
    """Move an order: pending -> paid -> shipped -> delivered, or cancel a pending or paid one."""
    version = await if_match_version(
        request, lambda: reads.get_versioned(actor, order_id), lambda o: Envelope(data=o.read)
    )
    await change(actor, order_id, body.status, expected_version=version)
    return _order(await reads.get(actor, order_id))


@reports_router.post("/reports", status_code=202, response_model=Envelope[JobRead])
async def create_report(
    body: ReportCreate,
    request: Request,
    principal: ReportReader,
    attempt: IdempotencyAttempt,
    reports: Reports,
) -> Response:
    """Queue a sales report (admins): 202 with `Location: /api/v1/jobs/{id}`; the finished
    job's `resultUrl` downloads the CSV (one row per order line paid in the period)."""
    job = await reports.submit(body.from_, body.to, principal, attempt)
    return json_response(
        Envelope(data=job_read(request, job)),
        status_code=202,
        headers={"Location": location(request, job_path(job.id))},
        etag=False,
    )
