"""The route class every Agora router uses.

It adds three things to FastAPI's `APIRoute`:
- a body with a Content-Type the route does not accept is a 415 (FastAPI would try to validate
  the raw bytes and answer 422);
- JSON bodies are parsed with orjson, which reports malformed JSON, invalid UTF-8 and absurd
  nesting precisely (the stdlib parser turns the last two into a generic error);
- every route documents the error envelope instead of FastAPI's default 422 schema.
"""

from collections.abc import Callable, Coroutine
from email.message import Message
from typing import Any

import orjson
from fastapi import APIRouter
from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response

from agora.platform.envelope import ErrorEnvelope
from agora.platform.errors import UnsupportedMediaType

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


class AgoraRoute(APIRoute):
    """An `APIRoute` that checks the Content-Type of bodies and parses JSON with orjson."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        if self.body_field is None:
            return handler
        is_form = self.dependant.body_params and any(
            getattr(param.field_info, "media_type", "").startswith(("multipart/", "application/x"))
            for param in self.dependant.body_params
        )
        accepts: Callable[[str], bool] = (lambda kind: kind in FORM_TYPES) if is_form else _is_json
        expected = " or ".join(FORM_TYPES) if is_form else "application/json"

        async def checked_handler(request: Request) -> Response:
            if _has_body(request):
                kind = media_type(request.headers.get("content-type"))
                if kind is None or not accepts(kind):
                    raise UnsupportedMediaType(
                        f"Content-Type {kind or '(none)'} is not supported here; send {expected}.",
                        field="Content-Type",
                    )
            return await handler(JSONRequest(request.scope, request.receive))

        return checked_handler


def api_router(**kwargs: Any) -> APIRouter:
    """An `APIRouter` with Agora's route class and documented error responses."""
    responses = {**ERROR_RESPONSES, **kwargs.pop("responses", {})}
    return APIRouter(route_class=AgoraRoute, responses=responses, **kwargs)
