"""Request ids, W3C trace context, bounds on the request head, the access log, the last 500.

Outermost of Agora's layers: everything inside it (errors included) sees the request id, and
every response carries `X-Request-ID` and the security headers (applied here, in the same
pass). A valid incoming `traceparent` is honoured (its trace id is on every log line) and
answered with our span in the same trace; without one, a new trace id is started for the logs.

A head with more than `MAX_HEADERS` headers or more than `MAX_HEADER_BYTES` of them is a 431,
a URL over `MAX_URL_BYTES` a 414 (`agora serve` refuses both while they stream in, see
`agora.platform.http.server`; this layer holds the rule for any ASGI server).
"""

import os
import re
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from agora.platform.errors import (
    AgoraError,
    HeadersTooLarge,
    UriTooLong,
    database_unavailable,
    send_error,
)
from agora.platform.http.security_headers import SecurityHeaders
from agora.platform.observability import AccessLog, get_logger, request_id_var, trace_id_var

_SANE_REQUEST_ID = re.compile(rb"[\x21-\x7e]{1,128}")
_TRACEPARENT = re.compile(rb"([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})")
_ZERO_TRACE = b"0" * 32
_ZERO_SPAN = b"0" * 16

MAX_HEADERS = 100
MAX_HEADER_BYTES = 64 * 1024
"""Names and values of all headers together (nginx's default buffers hold 32 KiB)."""
MAX_URL_BYTES = 8 * 1024


def head_too_large() -> HeadersTooLarge:
    return HeadersTooLarge(
        f"The request headers are too large: at most {MAX_HEADERS} headers and "
        f"{MAX_HEADER_BYTES} bytes.",
        field="headers",
        headers={"Connection": "close"},
    )


def url_too_long() -> UriTooLong:
    return UriTooLong(
        f"The request URL is longer than {MAX_URL_BYTES} bytes.",
        field="url",
        headers={"Connection": "close"},
    )


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

    def __init__(
        self,
        app: ASGIApp,
        *,
        security: SecurityHeaders,
        retry_after: int = 1,
        access_log: bool = True,
    ) -> None:
        self.app = app
        self.security = security
        self.retry_after = retry_after
        self.access_log = AccessLog() if access_log else None
        self.errors = get_logger("agora.errors")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        started_at = time.perf_counter()
        request_id: str | None = None
        trace: tuple[str, str] | None = None
        head_bytes = 0
        headers = scope["headers"]
        for name, value in headers:
            head_bytes += len(name) + len(value)
            if name == b"x-request-id":
                request_id = sane_request_id(value)
            elif name == b"traceparent":
                trace = parse_traceparent(value)
        refusal: AgoraError | None = None
        if len(headers) > MAX_HEADERS or head_bytes > MAX_HEADER_BYTES:
            refusal = head_too_large()
            request_id = trace = None  # taken from a head that is refused
        elif len(scope.get("raw_path") or b"") + len(scope["query_string"]) > MAX_URL_BYTES:
            refusal = url_too_long()
        if request_id is None:
            request_id = os.urandom(16).hex()
        response_headers = [(b"x-request-id", request_id.encode())]
        if trace is not None:
            # The caller takes part in a trace: answer with our span in it.
            trace_id, flags = trace
            response_headers.append(
                (b"traceparent", f"00-{trace_id}-{os.urandom(8).hex()}-{flags}".encode())
            )
        else:
            trace_id = os.urandom(16).hex()
        scope.setdefault("state", {})["request_id"] = request_id
        status = 500
        started = finished = False
        security = self.security
        https = scope.get("scheme") == "https"

        async def send_with_ids(message: Message) -> None:
            nonlocal status, started, finished
            if message["type"] == "http.response.start":
                started = True
                status = message["status"]
                headers = [*message.get("headers", ()), *response_headers]
                security.apply(headers, https=https)
                message["headers"] = headers
            elif not message.get("more_body", False):
                finished = True
            await send(message)

        request_token = request_id_var.set(request_id)
        trace_token = trace_id_var.set(trace_id)
        try:
            if refusal is not None:
                await send_error(send_with_ids, refusal)
            else:
                await self.app(scope, receive, send_with_ids)
        except Exception as exc:
            # Raised by a layer outside FastAPI's error handling (the database is down while
            # an API key or an Idempotency-Key is looked up, say): the envelope, as inside.
            error = (
                exc if isinstance(exc, AgoraError) else database_unavailable(exc, self.retry_after)
            )
            if error is None:
                self.errors.exception("unhandled_error", method=scope["method"], path=scope["path"])
                error = AgoraError()
            elif error.status_code >= 500:
                self.errors.warning("request_failed", code=error.error_code, error=error.message)
            if finished:
                return  # the answer went out; what failed after it is logged above
            if started:
                raise  # half a response went out: the server must drop the connection
            await send_error(send_with_ids, error, head_only=scope["method"] == "HEAD")
        finally:
            if self.access_log is not None:
                self.access_log.write(
                    {
                        "method": scope["method"],
                        "path": scope["path"],
                        "status": status,
                        "duration_ms": round((time.perf_counter() - started_at) * 1000, 2),
                        "client": _client(scope),
                        "request_id": request_id,
                        "trace_id": trace_id,
                    }
                )
            request_id_var.reset(request_token)
            trace_id_var.reset(trace_token)


def _client(scope: Scope) -> Any:
    client = scope.get("client")
    return client[0] if client else None
