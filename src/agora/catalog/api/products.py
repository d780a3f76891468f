"""Product routes, built once per API version: v1 (`priceCents`) and v2 (`price` object).

The two versions share every rule (they call the same service); only the representation and
the write body differ. v1 answers carry `Deprecation`, `Sunset` and a successor `Link`.
"""

import uuid
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Body, Request, Response
from pydantic import BaseModel

from agora.catalog.api.dependencies import Admin, Editor, Products, products_of
from agora.catalog.api.headers import deprecation, read_policy
from agora.catalog.cache import response_tags
from agora.catalog.collections import PRODUCTS, PRODUCTS_V2
from agora.catalog.schemas import (
    ProductRead,
    ProductReadV2,
    ProductRecord,
    ProductReplace,
    ProductReplaceV2,
    ProductWrite,
    ProductWriteV2,
)
from agora.catalog.service.products import PatchKind
from agora.platform.envelope import Envelope, Page, page_of
from agora.platform.idempotency import IdempotencyAttempt
from agora.platform.patching import JSON_PATCH, MERGE_PATCH, json_patch_schema, merge_patch_schema
from agora.platform.querying import CollectionQuery, collection_query
from agora.platform.responses import (
    if_match_version,
    json_response,
    location,
    sparse_include,
)
from agora.platform.routing import api_router, media_type
from agora.platform.security import OptionalPrincipal, request_principal


@dataclass(frozen=True)
class _Version:
    number: int
    read: type[BaseModel]
    create: type[BaseModel]
    replace: type[BaseModel]

    def represent(self, record: ProductRecord) -> BaseModel:
        if self.number == 2:
            return ProductReadV2.from_record(record)
        # From the record's field dict, not from attributes: pydantic validates a dict several
        # times faster, measurably so on the uncached read path (docs/performance.md).
        return ProductRead.model_validate(vars(record))

    def to_write(self, body: BaseModel) -> ProductWrite:
        if isinstance(body, ProductWriteV2):
            return body.to_v1()
        return ProductWrite.model_validate(body)


def _models(read: type[BaseModel]) -> tuple[Any, Any, Any]:
    """`Envelope[read]`, `Page[read]` (what a page is built and serialized from) and the
    documented page of `read` (sparse items), for a model known at run time."""
    return Envelope[read], Page[read], page_of(read)  # type: ignore[valid-type]


def _patch_body(replace: type[BaseModel]) -> dict[str, Any]:
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


def product_router(number: int) -> APIRouter:
    """The product routes of API version `number` (1 or 2)."""
    version = (
        _Version(2, ProductReadV2, ProductWriteV2, ProductReplaceV2)
        if number == 2
        else _Version(1, ProductRead, ProductWrite, ProductReplace)
    )
    prefix = f"/api/v{number}/products"
    suffix = "" if number == 1 else f"_v{number}"
    spec = PRODUCTS_V2 if number == 2 else PRODUCTS
    Query = Annotated[CollectionQuery, collection_query(spec)]
    CreateBody = Annotated[version.create, Body()]  # type: ignore[name-defined]
    ReplaceBody = Annotated[version.replace, Body()]  # type: ignore[name-defined]
    one_model, page_model, documented_page = _models(version.read)
    router = api_router(prefix=prefix, tags=["products"])

    def headers(request: Request, successor: str) -> dict[str, str]:
        if number != 1:
            return {}
        return deprecation(request.app.state.runtime.settings, location(request, successor))

    def one(
        request: Request, record: ProductRecord, extra: dict[str, str], **kwargs: Any
    ) -> Response:
        return json_response(
            request,
            Envelope(data=version.represent(record)),
            headers={**headers(request, f"/api/v2/products/{record.id}"), **extra},
            **kwargs,
        )

    async def expected(
        request: Request, products: Any, product_id: uuid.UUID, viewer: Any
    ) -> int | None:
        return await if_match_version(
            request,
            lambda: products.get(product_id, viewer=viewer),
            lambda record: Envelope(data=version.represent(record)),
        )

    @router.get("", response_model=documented_page, name=f"list_products{suffix}")
    async def list_products(
        request: Request, query: Query, viewer: OptionalPrincipal, products: Products
    ) -> Response:
        """Products, newest first by default (the public sees active ones)."""
        page = await products.list(query, viewer=viewer)
        cache_control, extra = read_policy(viewer, request.app.state.runtime.settings)
        body = page_model(data=[version.represent(record) for record in page.items], meta=page.meta)
        return json_response(
            request,
            body,
            cache_control=cache_control,
            headers={**headers(request, "/api/v2/products"), **extra, **response_tags()},
            include=sparse_include(version.read, query.fields, many=True),
        )

    @router.get("/{product_id:uuid}", response_model=one_model, name=f"get_product{suffix}")
    async def get_product(product_id: uuid.UUID, request: Request) -> Response:
        """One product."""
        # The hottest route takes its viewer and service from the request rather than as
        # dependencies: each FastAPI sub-dependency costs a measurable share of an uncached
        # read (docs/performance.md).
        viewer = request_principal(request)
        record = await products_of(request).get(product_id, viewer=viewer)
        cache_control, extra = read_policy(viewer, request.app.state.runtime.settings)
        return one(
            request, record, {**extra, **response_tags(record.id)}, cache_control=cache_control
        )

    @router.post("", status_code=201, response_model=one_model, name=f"create_product{suffix}")
    async def create_product(
        body: CreateBody,
        request: Request,
        _: Editor,
        attempt: IdempotencyAttempt,
        products: Products,
    ) -> Response:
        """Add a product (editors and admins); 409 if the SKU is taken."""
        record = await products.create(version.to_write(body), attempt)
        path = f"{prefix}/{record.id}"
        return one(request, record, {"Location": location(request, path)}, status_code=201)

    @router.put("/{product_id:uuid}", response_model=one_model, name=f"replace_product{suffix}")
    async def replace_product(
        product_id: uuid.UUID,
        body: ReplaceBody,
        request: Request,
        editor: Editor,
        products: Products,
    ) -> Response:
        """Replace a product; omitted optional fields return to their defaults."""
        expected_version = await expected(request, products, product_id, editor)
        record = await products.replace(
            product_id, version.to_write(body), expected_version=expected_version
        )
        return one(request, record, {})

    @router.patch(
        "/{product_id:uuid}",
        response_model=one_model,
        name=f"patch_product{suffix}",
        openapi_extra=_patch_body(version.replace),
    )
    async def patch_product(
        product_id: uuid.UUID,
        body: Annotated[Any, Body()],
        request: Request,
        editor: Editor,
        products: Products,
    ) -> Response:
        """Change some fields: JSON Merge Patch (or plain JSON), or JSON Patch (RFC 6902)."""
        kind: PatchKind = (
            "json" if media_type(request.headers.get("content-type")) == JSON_PATCH else "merge"
        )
        expected_version = await expected(request, products, product_id, editor)
        record = await products.patch(
            product_id, body, kind=kind, api_version=number, expected_version=expected_version
        )
        return one(request, record, {})

    @router.delete("/{product_id:uuid}", status_code=204, name=f"delete_product{suffix}")
    async def delete_product(
        product_id: uuid.UUID, request: Request, admin: Admin, products: Products
    ) -> Response:
        """Delete a product (admins)."""
        expected_version = await expected(request, products, product_id, admin)
        await products.delete(product_id, expected_version=expected_version)
        return Response(status_code=204)

    return router
