"""Payment and refund routes."""

import uuid
from typing import Annotated

from fastapi import Depends, Request, Response

from agora.payments.schemas import PaymentCreate, PaymentRead, RefundCreate, RefundRead
from agora.payments.service import PaymentService
from agora.platform.envelope import Envelope
from agora.platform.idempotency import REQUIRED_KEY, IdempotencyAttempt, RequiredIdempotencyKey
from agora.platform.responses import json_response, location
from agora.platform.routing import api_router
from agora.platform.security import CurrentUser, Principal, Role, Scope, authorize


async def payment_service(request: Request) -> PaymentService:
    service: PaymentService = request.app.state.payments.service
    return service


Payments = Annotated[PaymentService, Depends(payment_service)]

router = api_router(prefix="/api/v1", tags=["payments"])


@router.post(
    "/payments", status_code=201, response_model=Envelope[PaymentRead], openapi_extra=REQUIRED_KEY
)
async def create_payment(
    body: PaymentCreate,
    request: Request,
    payer: CurrentUser,
    attempt: RequiredIdempotencyKey,
    payments: Payments,
) -> Response:
    """Pay an order (Idempotency-Key required). Declined: 422, and the order stays pending."""
    payment = await payments.pay(payer, body, attempt)
    return json_response(
        Envelope(data=PaymentRead.model_validate(payment)),
        status_code=201,
        headers={"Location": location(request, f"/api/v1/payments/{payment.id}")},
    )


@router.get("/payments/{payment_id:uuid}", response_model=Envelope[PaymentRead])
async def get_payment(
    payment_id: uuid.UUID,
    viewer: Annotated[Principal, authorize(scope=Scope.PAYMENTS_READ)],
    payments: Payments,
) -> Response:
    """One payment (its payer, an admin, or an API key with `payments:write`)."""
    payment = await payments.get(payment_id, viewer=viewer)
    return json_response(Envelope(data=PaymentRead.model_validate(payment)))


@router.post("/refunds", status_code=201, response_model=Envelope[RefundRead])
async def create_refund(
    body: RefundCreate,
    _: Annotated[Principal, authorize(Role.ADMIN, scope=Scope.PAYMENTS_WRITE)],
    attempt: IdempotencyAttempt,
    payments: Payments,
) -> Response:
    """Refund part or all of a payment (admins, API keys with `payments:write`); refunds never
    exceed what was paid."""
    refund = await payments.refund(body, attempt)
    return json_response(Envelope(data=RefundRead.model_validate(refund)), status_code=201)
