"""Request ids, W3C trace context, the access log line, and the last-resort 500.

Outermost of Agora's layers: everything inside it (errors included) sees the request id, and
every response carries `X-Request-ID` and `traceparent`.
"""

import os
import re
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from agora.platform.errors import AgoraError, send_error
from agora.platform.observability import get_logger, request_id_var, trace_id_var

_SANE_REQUEST_ID = re.compile(rb"[\x21-\x7e]{1,128}")
_TRACEPARENT = re.compile(rb"([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})")
_ZERO_TRACE = b"0" * 32
_ZERO_SPAN = b"0" * 16


def sane_request_id(value: bytes | None) -> str | None:
    """The client's X-Request-ID if it is 1-128 visible ASCII characters, else None."""
    if value is not None and _SANE_REQUEST_ID.fullmatch(value):
        return value.decode("ascii")
    return None


def parse_traceparent(value: bytes | None) -> tuple[str, str] | None:
    """`(trace_id, flags)` from a valid W3C traceparent header, else None."""
    if value is None:
        return None
    match = _TRACEPARENT.fullmatch(value.strip())
    if match is None:
        return None
    version, trace_id, span_id, flags = match.groups()
    if version == b"ff" or trace_id == _ZERO_TRACE or span_id == _ZERO_SPAN:
        return None
    return trace_id.decode(), flags.decode()


class RequestContextMiddleware:
    """Assigns ids, logs one line per request and turns unhandled errors into a plain 500."""

    def __init__(self, app: ASGIApp, *, access_log: bool = True) -> None:
        self.app = app
        self.access_log = access_log
        self.log = get_logger("agora.access")
        self.errors = get_logger("agora.errors")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        started_at = time.perf_counter()
        request_id: str | None = None
        trace: tuple[str, str] | None = None
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                request_id = sane_request_id(value)
            elif name == b"traceparent":
                trace = parse_traceparent(value)
        if request_id is None:
            request_id = os.urandom(16).hex()
        trace_id, flags = trace or (os.urandom(16).hex(), "01")
        response_headers = [
            (b"x-request-id", request_id.encode()),
            (b"traceparent", f"00-{trace_id}-{os.urandom(8).hex()}-{flags}".encode()),
        ]
        scope.setdefault("state", {})["request_id"] = request_id
        status = 500
        started = False

        async def send_with_ids(message: Message) -> None:
            nonlocal status, started
            if message["type"] == "http.response.start":
                started = True
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), *response_headers]
            await send(message)

        request_token = request_id_var.set(request_id)
        trace_token = trace_id_var.set(trace_id)
        try:
            await self.app(scope, receive, send_with_ids)
        except Exception:
            self.errors.exception("unhandled_error", method=scope["method"], path=scope["path"])
            if started:
                raise
            await send_error(send_with_ids, AgoraError(), head_only=scope["method"] == "HEAD")
        finally:
            if self.access_log:
                self.log.info(
                    "request",
                    method=scope["method"],
                    path=scope["path"],
                    status=status,
                    duration_ms=round((time.perf_counter() - started_at) * 1000, 2),
                    client=_client(scope),
                )
            request_id_var.reset(request_token)
            trace_id_var.reset(trace_token)


def _client(scope: Scope) -> Any:
    client = scope.get("client")
    return client[0] if client else None
