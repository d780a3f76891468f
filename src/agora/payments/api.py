"""Payment and refund routes."""

import uuid
from typing import Annotated

from fastapi import Depends, Request, Response

from agora.payments.schemas import PaymentCreate, PaymentRead, RefundCreate, RefundRead
from agora.payments.service import PaymentService
from agora.platform.envelope import Envelope
from agora.platform.idempotency import RequiredIdempotencyKey
from agora.platform.responses import json_response, location
from agora.platform.routing import api_router
from agora.platform.security import CurrentUser, Principal, require_role


async def payment_service(request: Request) -> PaymentService:
    service: PaymentService = request.app.state.payments
    return service


Payments = Annotated[PaymentService, Depends(payment_service)]

router = api_router(prefix="/api/v1", tags=["payments"])


@router.post("/payments", status_code=201, response_model=Envelope[PaymentRead])
async def create_payment(
    body: PaymentCreate,
    request: Request,
    payer: CurrentUser,
    _: RequiredIdempotencyKey,
    payments: Payments,
) -> Response:
    """Pay an order (Idempotency-Key required). Declined: 422, and the order stays pending."""
    payment = await payments.pay(payer, body)
    return json_response(
        request,
        Envelope(data=PaymentRead.model_validate(payment)),
        status_code=201,
        headers={"Location": location(request, f"/api/v1/payments/{payment.id}")},
    )


@router.get("/payments/{payment_id}", response_model=Envelope[PaymentRead])
async def get_payment(
    payment_id: uuid.UUID, request: Request, viewer: CurrentUser, payments: Payments
) -> Response:
    """One payment (its payer or an admin)."""
    payment = await payments.get(payment_id, viewer=viewer)
    return json_response(request, Envelope(data=PaymentRead.model_validate(payment)))


@router.post("/refunds", status_code=201, response_model=Envelope[RefundRead])
async def create_refund(
    body: RefundCreate,
    request: Request,
    _: Annotated[Principal, require_role("admin")],
    payments: Payments,
) -> Response:
    """Refund part or all of a payment (admins); refunds never exceed what was paid."""
    refund = await payments.refund(body)
    return json_response(request, Envelope(data=RefundRead.model_validate(refund)), status_code=201)
