"""Product routes of API v2: money as `price: {amount, currency}`; the rest is v1's."""

import uuid
from typing import Annotated, Any

from fastapi import Body, Request, Response

from agora.catalog.api.dependencies import Admin, Editor, Products
from agora.catalog.api.products import (
    Version,
    create,
    delete,
    list_page,
    patch,
    patch_body,
    read_one,
    replace,
)
from agora.catalog.collections import PRODUCTS_V2
from agora.catalog.schemas import ProductReadV2, ProductReplaceV2, ProductWriteV2
from agora.platform.envelope import Envelope, Page, page_of
from agora.platform.idempotency import IdempotencyAttempt
from agora.platform.openapi import OPTIONAL_SECURITY
from agora.platform.querying import CollectionQuery, collection_query
from agora.platform.responses import IF_MATCH
from agora.platform.routing import api_router
from agora.platform.security import OptionalPrincipal

V2 = Version(2, ProductReadV2, Page[ProductReadV2])
Query = Annotated[CollectionQuery, collection_query(PRODUCTS_V2)]
router = api_router(prefix=V2.prefix, tags=["products"])


@router.get("", response_model=page_of(ProductReadV2))
async def list_products_v2(
    request: Request, query: Query, viewer: OptionalPrincipal, products: Products
) -> Response:
    """Products, newest first by default (the public sees active ones)."""
    return await list_page(V2, request, query, viewer, products)


@router.get(
    "/{product_id:uuid}", response_model=Envelope[ProductReadV2], openapi_extra=OPTIONAL_SECURITY
)
async def get_product_v2(product_id: uuid.UUID, request: Request) -> Response:
    """One product."""
    return await read_one(V2, product_id, request)


@router.post("", status_code=201, response_model=Envelope[ProductReadV2])
async def create_product_v2(
    body: Annotated[ProductWriteV2, Body()],
    request: Request,
    _: Editor,
    attempt: IdempotencyAttempt,
    products: Products,
) -> Response:
    """Add a product (editors and admins); 409 if the SKU is taken."""
    return await create(V2, body, request, attempt, products)


@router.put("/{product_id:uuid}", response_model=Envelope[ProductReadV2], openapi_extra=IF_MATCH)
async def replace_product_v2(
    product_id: uuid.UUID,
    body: Annotated[ProductReplaceV2, Body()],
    request: Request,
    editor: Editor,
    products: Products,
) -> Response:
    """Replace a product; omitted optional fields return to their defaults."""
    return await replace(V2, product_id, body, request, editor, products)


@router.patch(
    "/{product_id:uuid}",
    response_model=Envelope[ProductReadV2],
    openapi_extra=patch_body(ProductReplaceV2) | IF_MATCH,
)
async def patch_product_v2(
    product_id: uuid.UUID,
    body: Annotated[Any, Body()],
    request: Request,
    editor: Editor,
    products: Products,
) -> Response:
    """Change some fields: JSON Merge Patch (or plain JSON), or JSON Patch (RFC 6902)."""
    return await patch(V2, product_id, body, request, editor, products)


@router.delete("/{product_id:uuid}", status_code=204, openapi_extra=IF_MATCH)
async def delete_product_v2(
    product_id: uuid.UUID, request: Request, admin: Admin, products: Products
) -> Response:
    """Delete a product (admins)."""
    return await delete(V2, product_id, request, admin, products)
