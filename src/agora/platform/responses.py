"""JSON responses with ETags, cache policies and sparse fieldsets.

Routes still declare their response model (it documents the API); they return `json_response`
when they need the serialized bytes (an ETag is a digest of exactly those bytes). Serialization is
Pydantic's Rust `model_dump_json`, the same path FastAPI takes for declared response models.
A GET whose If-None-Match matches is answered 304 on the way out (`agora.platform.http.caching`).
"""

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol, TypeVar

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import Response

from agora.platform.envelope import Page
from agora.platform.etags import ENTITY_TAGS, compute_etag, require_match
from agora.platform.http.caching import PRIVATE
from agora.platform.pagination import PageResult
from agora.platform.querying import CollectionQuery


def sparse_include(
    model: type[BaseModel], fields: frozenset[str] | None, *, many: bool
) -> dict[str, Any] | None:
    """Pydantic `include` for an envelope whose data has only the requested API fields."""
    if fields is None:
        return None
    by_alias = {(info.alias or name): name for name, info in model.model_fields.items()}
    names = {by_alias[field] for field in fields if field in by_alias}
    data: Any = {"__all__": names} if many else names
    return {"success": True, "data": data, "meta": True}


def serialize(content: BaseModel, include: dict[str, Any] | None = None) -> bytes:
    return content.__pydantic_serializer__.to_json(content, include=include, by_alias=True)


def etag_of(content: BaseModel) -> str:
    """The ETag `json_response` gives `content` (its full representation)."""
    return compute_etag(serialize(content))


def json_response(
    content: BaseModel,
    *,
    status_code: int = 200,
    cache_control: str = PRIVATE,
    headers: Mapping[str, str] | None = None,
    include: dict[str, Any] | None = None,
    etag: bool = True,
) -> Response:
    """Serialize `content`, with a strong ETag of the bytes unless `etag` is False."""
    body = serialize(content, include)
    response_headers = {"Cache-Control": cache_control, **(headers or {})}
    if etag:
        response_headers["ETag"] = compute_etag(body)
    return Response(
        body, status_code=status_code, headers=response_headers, media_type="application/json"
    )


def page_response(
    page: PageResult[Any],
    dto: type[BaseModel],
    query: CollectionQuery,
    *,
    cache_control: str = PRIVATE,
) -> Response:
    """A collection page as `Page[dto]`, honouring the query's sparse fieldset."""
    body = Page[dto](data=[dto.model_validate(item) for item in page.items], meta=page.meta)  # type: ignore[valid-type]
    return json_response(
        body,
        cache_control=cache_control,
        include=sparse_include(dto, query.fields, many=True),
    )


def location(request: Request, path: str) -> str:
    """An absolute URL for `path` (Location headers), from AGORA_PUBLIC_URL or the request."""
    public: str | None = request.app.state.runtime.settings.public_url
    if public:
        return public.rstrip("/") + path
    scope = request.scope
    host = request.headers.get("host")
    if host is None:
        server = scope.get("server") or ("localhost", 80)
        host = f"{server[0]}:{server[1]}"
    return f"{scope.get('scheme', 'http')}://{host}{scope.get('root_path', '')}{path}"


IF_MATCH = {
    "parameters": [
        {
            "name": "If-Match",
            "in": "header",
            "required": False,
            "description": "The ETag the change is based on (or `*`): 412 Precondition Failed "
            "when the resource changed since, so no update is lost.",
            "schema": {"type": "string", "pattern": ENTITY_TAGS},
        }
    ],
    "responses": {
        "412": {
            "description": "If-Match names another version than the current one.",
            "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/ErrorEnvelope"}}
            },
        }
    },
}
"""`openapi_extra` of the routes that honour If-Match (`if_match_version`)."""


class Versioned(Protocol):
    @property
    def version(self) -> int: ...


V = TypeVar("V", bound=Versioned)


async def if_match_version(
    request: Request,
    load: Callable[[], Awaitable[V]],
    represent: Callable[[V], BaseModel],
) -> int | None:
    """For a write with If-Match: the version of the resource the client's ETag describes.

    None without If-Match. With it, loads the resource, compares the ETag of its current
    representation (412 if it differs) and returns its version, which the service then
    requires at write time, so that a change in between also ends in 412.
    """
    header = request.headers.get("if-match")
    if header is None:
        return None
    current = await load()
    require_match(header, etag_of(represent(current)))
    return current.version
