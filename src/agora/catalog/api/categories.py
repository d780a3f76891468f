import uuid
from typing import Annotated

from fastapi import Request, Response

from agora.catalog.api.dependencies import Categories
from agora.catalog.api.headers import read_policy
from agora.catalog.cache import CATEGORIES_TAG
from agora.catalog.collections import CATEGORIES
from agora.catalog.schemas import CategoryCreate, CategoryRead
from agora.platform.envelope import Envelope, page_of
from agora.platform.idempotency import IdempotencyAttempt
from agora.platform.querying import CollectionQuery, collection_query
from agora.platform.responses import json_response, location, page_response
from agora.platform.routing import api_router
from agora.platform.security import OptionalPrincipal, Principal, Role, Scope, authorize

CategoriesQuery = Annotated[CollectionQuery, collection_query(CATEGORIES)]

router = api_router(prefix="/api/v1/categories", tags=["categories"])


@router.get("", response_model=page_of(CategoryRead))
async def list_categories(
    request: Request, query: CategoriesQuery, viewer: OptionalPrincipal, categories: Categories
) -> Response:
    """Product categories, by name."""
    cache_control, extra = read_policy(viewer, request.app.state.runtime.settings)
    response = page_response(
        await categories.list(query), CategoryRead, query, cache_control=cache_control
    )
    response.headers.update(extra)
    return response


@router.post("", status_code=201, response_model=Envelope[CategoryRead])
async def create_category(
    body: CategoryCreate,
    request: Request,
    _: Annotated[Principal, authorize(Role.ADMIN, scope=Scope.PRODUCTS_WRITE)],
    attempt: IdempotencyAttempt,
    categories: Categories,
) -> Response:
    """Add a category (admins, API keys with `products:write`); the slug comes from the name
    unless given."""
    category = await categories.create(body, attempt)
    return json_response(
        Envelope(data=CategoryRead.model_validate(category)),
        status_code=201,
        headers={"Location": location(request, f"/api/v1/categories/{category.id}")},
    )


@router.get("/{category_id:uuid}", response_model=Envelope[CategoryRead])
async def get_category(
    category_id: uuid.UUID, request: Request, viewer: OptionalPrincipal, categories: Categories
) -> Response:
    """One category."""
    cache_control, extra = read_policy(viewer, request.app.state.runtime.settings)
    body = Envelope(data=CategoryRead.model_validate(await categories.get(category_id)))
    return json_response(
        body,
        cache_control=cache_control,
        headers={**extra, "X-Agora-Cache-Tags": CATEGORIES_TAG},
    )
