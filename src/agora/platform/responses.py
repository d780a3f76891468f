"""JSON responses with ETags, conditional GETs, cache policies and sparse fieldsets.

Routes still declare their response model (it documents the API); they return `json_response`
when they need the serialized bytes (an ETag is a digest of exactly those bytes). Serialization is
Pydantic's Rust `model_dump_json`, the same path FastAPI takes for declared response models.
"""

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import Response

from agora.platform.etags import compute_etag, none_match

PRIVATE = "private, no-store"


def public(max_age: int) -> str:
    """Cache-Control for public reads that shared caches may keep for `max_age` seconds."""
    return f"public, max-age={max_age}"


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


def json_response(
    request: Request,
    content: BaseModel,
    *,
    status_code: int = 200,
    cache_control: str = PRIVATE,
    headers: Mapping[str, str] | None = None,
    include: dict[str, Any] | None = None,
    etag: bool = True,
) -> Response:
    """Serialize `content`; answer 304 when the client's If-None-Match already matches."""
    body = content.__pydantic_serializer__.to_json(content, include=include, by_alias=True)
    response_headers = {"Cache-Control": cache_control, **(headers or {})}
    if etag:
        tag = compute_etag(body)
        response_headers["ETag"] = tag
        if request.method in ("GET", "HEAD") and none_match(
            request.headers.get("if-none-match"), tag
        ):
            return Response(status_code=304, headers=response_headers)
    return Response(
        body, status_code=status_code, headers=response_headers, media_type="application/json"
    )
