"""Product routes of API v1 (`priceCents`), and what they share with v2 (`products_v2.py`).

The two versions share every rule (they call the same service); only the representation and
the write body differ. v1 answers carry `Deprecation`, `Sunset` and a successor `Link`.
"""

import uuid
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Body, Request, Response
from pydantic import BaseModel

from agora.catalog.api.dependencies import Admin, Editor, Products, products_of
from agora.catalog.api.headers import deprecation, read_policy
from agora.catalog.cache import response_tags
from agora.catalog.collections import PRODUCTS
from agora.catalog.schemas import (
    ProductRead,
    ProductReadV2,
    ProductRecord,
    ProductReplace,
    ProductWrite,
    ProductWriteV2,
)
from agora.catalog.service import ProductService
from agora.catalog.service.products import PatchKind
from agora.platform.envelope import Envelope, Page, page_of
from agora.platform.idempotency import Attempt, IdempotencyAttempt
from agora.platform.openapi import OPTIONAL_SECURITY
from agora.platform.patching import JSON_PATCH, MERGE_PATCH, json_patch_schema, merge_patch_schema
from agora.platform.querying import CollectionQuery, collection_query
from agora.platform.responses import (
    IF_MATCH,
    if_match_version,
    json_response,
    location,
    sparse_include,
)
from agora.platform.routing import api_router, media_type
from agora.platform.security import OptionalPrincipal, Principal, request_principal


@dataclass(frozen=True)
class Version:
    """What differs between the API versions of products: the models and v1's deprecation."""

    number: int
    read: type[BaseModel]
    page: Any  # Page[read]: what a page is built and serialized from

    @property
    def prefix(self) -> str:
        return f"/api/v{self.number}/products"

    def represent(self, record: ProductRecord) -> BaseModel:
        if self.number == 2:
            return ProductReadV2.from_record(record)
        # From the record's field dict, not from attributes: pydantic validates a dict several
        # times faster, measurably so on the uncached read path (docs/performance.md).
        return ProductRead.model_validate(vars(record))

    def headers(self, request: Request, successor: str) -> dict[str, str]:
        if self.number != 1:
            return {}
        return deprecation(request.app.state.runtime.settings, location(request, successor))


def to_write(body: BaseModel) -> ProductWrite:
    if isinstance(body, ProductWriteV2):
        return body.to_v1()
    return ProductWrite.model_validate(body)


def patch_body(replace: type[BaseModel]) -> dict[str, Any]:
    """The documented request body of PATCH: a merge patch or a JSON Patch of `replace`."""
    merge = {
        **merge_patch_schema(replace),
        "description": "JSON Merge Patch (RFC 7386): the fields given change; `null` resets a "
        "field to its default.",
    }
    return {
        "requestBody": {
            "required": True,
            "content": {
                MERGE_PATCH: {"schema": merge},
                "application/json": {"schema": merge},
                JSON_PATCH: {"schema": json_patch_schema(replace)},
            },
        }
    }


def one(
    version: Version, request: Request, record: ProductRecord, extra: dict[str, str], **kw: Any
) -> Response:
    """One product in the envelope, as `version` represents it."""
    successor = f"/api/v2/products/{record.id}"
    return json_response(
        Envelope(data=version.represent(record)),
        headers={**version.headers(request, successor), **extra},
        **kw,
    )


async def list_page(
    version: Version,
    request: Request,
    query: CollectionQuery,
    viewer: Principal | None,
    products: ProductService,
) -> Response:
    page = await products.list(query, viewer=viewer)
    cache_control, extra = read_policy(viewer, request.app.state.runtime.settings)
    body = version.page(data=[version.represent(record) for record in page.items], meta=page.meta)
    return json_response(
        body,
        cache_control=cache_control,
        headers={**version.headers(request, "/api/v2/products"), **extra, **response_tags()},
        include=sparse_include(version.read, query.fields, many=True),
    )


async def read_one(version: Version, product_id: uuid.UUID, request: Request) -> Response:
    # The hottest route takes its viewer and service from the request rather than as
    # dependencies: each FastAPI sub-dependency costs a measurable share of an uncached read
    # (docs/performance.md).
    viewer = request_principal(request)
    record = await products_of(request).get(product_id, viewer=viewer)
    cache_control, extra = read_policy(viewer, request.app.state.runtime.settings)
    tags = {**extra, **response_tags(record.id)}
    return one(version, request, record, tags, cache_control=cache_control)


async def create(
    version: Version,
    body: BaseModel,
    request: Request,
    attempt: Attempt,
    products: ProductService,
) -> Response:
    record = await products.create(to_write(body), attempt)
    url = location(request, f"{version.prefix}/{record.id}")
    return one(version, request, record, {"Location": url}, status_code=201)


async def expected_version(
    version: Version,
    request: Request,
    products: ProductService,
    product_id: uuid.UUID,
    viewer: Principal,
) -> int | None:
    """The version `If-Match` names (412 when it is not the current one)."""
    return await if_match_version(
        request,
        lambda: products.get(product_id, viewer=viewer),
        lambda record: Envelope(data=version.represent(record)),
    )


async def replace(
    version: Version,
    product_id: uuid.UUID,
    body: BaseModel,
    request: Request,
    editor: Principal,
    products: ProductService,
) -> Response:
    expected = await expected_version(version, request, products, product_id, editor)
    record = await products.replace(product_id, to_write(body), expected_version=expected)
    return one(version, request, record, {})


async def patch(
    version: Version,
    product_id: uuid.UUID,
    body: Any,
    request: Request,
    editor: Principal,
    products: ProductService,
) -> Response:
    json_patch = media_type(request.headers.get("content-type")) == JSON_PATCH
    kind: PatchKind = "json" if json_patch else "merge"
    expected = await expected_version(version, request, products, product_id, editor)
    record = await products.patch(
        product_id, body, kind=kind, api_version=version.number, expected_version=expected
    )
    return one(version, request, record, {})


async def delete(
    version: Version,
    product_id: uuid.UUID,
    request: Request,
    admin: Principal,
    products: ProductService,
) -> Response:
    expected = await expected_version(version, request, products, product_id, admin)
    await products.delete(product_id, expected_version=expected)
    return Response(status_code=204)


V1 = Version(1, ProductRead, Page[ProductRead])
Query = Annotated[CollectionQuery, collection_query(PRODUCTS)]
router = api_router(prefix=V1.prefix, tags=["products"])


@router.get("", response_model=page_of(ProductRead))
async def list_products(
    request: Request, query: Query, viewer: OptionalPrincipal, products: Products
) -> Response:
    """Products, newest first by default (the public sees active ones)."""
    return await list_page(V1, request, query, viewer, products)


@router.get(
    "/{product_id:uuid}", response_model=Envelope[ProductRead], openapi_extra=OPTIONAL_SECURITY
)
async def get_product(product_id: uuid.UUID, request: Request) -> Response:
    """One product."""
    return await read_one(V1, product_id, request)


@router.post("", status_code=201, response_model=Envelope[ProductRead])
async def create_product(
    body: Annotated[ProductWrite, Body()],
    request: Request,
    _: Editor,
    attempt: IdempotencyAttempt,
    products: Products,
) -> Response:
    """Add a product (editors and admins); 409 if the SKU is taken."""
    return await create(V1, body, request, attempt, products)


@router.put("/{product_id:uuid}", response_model=Envelope[ProductRead], openapi_extra=IF_MATCH)
async def replace_product(
    product_id: uuid.UUID,
    body: Annotated[ProductReplace, Body()],
    request: Request,
    editor: Editor,
    products: Products,
) -> Response:
    """Replace a product; omitted optional fields return to their defaults."""
    return await replace(V1, product_id, body, request, editor, products)


@router.patch(
    "/{product_id:uuid}",
    response_model=Envelope[ProductRead],
    openapi_extra=patch_body(ProductReplace) | IF_MATCH,
)
async def patch_product(
    product_id: uuid.UUID,
    body: Annotated[Any, Body()],
    request: Request,
    editor: Editor,
    products: Products,
) -> Response:
    """Change some fields: JSON Merge Patch (or plain JSON), or JSON Patch (RFC 6902)."""
    return await patch(V1, product_id, body, request, editor, products)


@router.delete("/{product_id:uuid}", status_code=204, openapi_extra=IF_MATCH)
async def delete_product(
    product_id: uuid.UUID, request: Request, admin: Admin, products: Products
) -> Response:
    """Delete a product (admins)."""
    return await delete(V1, product_id, request, admin, products)
