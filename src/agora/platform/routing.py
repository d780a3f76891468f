"""The route class every Agora router uses.

It adds four things to FastAPI's `APIRoute`:
- a body with a Content-Type the route does not accept is a 415 (FastAPI would try to validate
  the raw bytes and answer 422);
- JSON bodies are parsed with orjson, which reports malformed JSON, invalid UTF-8 and absurd
  nesting precisely (the stdlib parser turns the last two into a generic error);
- the rules every input obeys (`agora.platform.inputs`: no NUL, 64-bit integers, bounded
  nesting, no repeated scalar query parameters) are checked before the route runs;
- every route documents the error envelope instead of FastAPI's default 422 schema.
"""

import types
import typing
from collections.abc import Callable, Coroutine, Iterator
from email.message import Message
from typing import Annotated, Any

import orjson
from fastapi import APIRouter
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response

from agora.platform.envelope import ErrorEnvelope
from agora.platform.errors import UnsupportedMediaType
from agora.platform.inputs import check_json, check_query

JSON_TYPES = ("application/json",)
FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")

ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    "4XX": {"model": ErrorEnvelope, "description": "Client error, in the error envelope."},
    "5XX": {"model": ErrorEnvelope, "description": "Server or dependency error."},
}


class JSONRequest(Request):
    """A request whose `json()` uses orjson (fast, and precise about what is wrong)."""

    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            # orjson.JSONDecodeError subclasses json.JSONDecodeError, which FastAPI turns into a
            # validation error carrying orjson's message (position, nesting, UTF-8).
            self._json = orjson.loads(await self.body())
        return self._json


def media_type(content_type: str | None) -> str | None:
    """`application/json; charset=utf-8` -> `application/json`."""
    if not content_type:
        return None
    message = Message()
    message["content-type"] = content_type
    return message.get_content_type()


def _is_json(kind: str) -> bool:
    return kind in JSON_TYPES or (kind.startswith("application/") and kind.endswith("+json"))


def _has_body(request: Request) -> bool:
    headers = request.headers
    length = headers.get("content-length")
    if length is not None:
        return length.strip() not in ("", "0")
    return "transfer-encoding" in headers


def _query_fields(dependant: Dependant) -> Iterator[Any]:
    yield from dependant.query_params
    for dependency in dependant.dependencies:
        yield from _query_fields(dependency)


def _is_list(annotation: Any) -> bool:
    """`list[str]`, `list[str] | None`, `Annotated[list[str], ...]`: a repeatable parameter."""
    origin = typing.get_origin(annotation)
    if origin is Annotated:
        return _is_list(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return any(_is_list(arg) for arg in typing.get_args(annotation))
    return origin in (list, tuple, set, frozenset)


class AgoraRoute(APIRoute):
    """An `APIRoute` that checks inputs and Content-Type, and parses JSON with orjson."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        query_fields = list(_query_fields(self.dependant))
        if self.body_field is None and not query_fields:
            return handler  # nothing to check: no per-request cost (the hottest reads)
        repeatable = frozenset(
            field.alias for field in query_fields if _is_list(field.field_info.annotation)
        )
        has_body = self.body_field is not None
        is_form = self.dependant.body_params and any(
            getattr(param.field_info, "media_type", "").startswith(("multipart/", "application/x"))
            for param in self.dependant.body_params
        )
        accepts: Callable[[str], bool] = (lambda kind: kind in FORM_TYPES) if is_form else _is_json
        expected = " or ".join(FORM_TYPES) if is_form else "application/json"

        async def checked_handler(request: Request) -> Response:
            request = JSONRequest(request.scope, request.receive)
            if request.scope.get("query_string"):
                check_query(request.query_params.multi_items(), repeatable)
            if has_body and _has_body(request):
                kind = media_type(request.headers.get("content-type"))
                if kind is None or not accepts(kind):
                    raise UnsupportedMediaType(
                        f"Content-Type {kind or '(none)'} is not supported here; send {expected}.",
                        field="Content-Type",
                    )
                if not is_form:
                    try:
                        document = await request.json()
                    except orjson.JSONDecodeError:
                        pass  # FastAPI parses it again and reports exactly what is wrong
                    else:
                        check_json(document, await request.body())
            return await handler(request)

        return checked_handler


def api_router(**kwargs: Any) -> APIRouter:
    """An `APIRouter` with Agora's route class and documented error responses."""
    responses = {**ERROR_RESPONSES, **kwargs.pop("responses", {})}
    return APIRouter(route_class=AgoraRoute, responses=responses, **kwargs)
