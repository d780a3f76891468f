"""Request ids, W3C trace context, bounds on the request head, the access log, the last 500.

Outermost of Agora's layers: everything inside it (errors included) sees the request id. It
reads the request's headers once for all layers (`agora.platform.http.headers`) and writes the
response's headers in one pass: `X-Request-ID`, what inner layers queued, the security headers
and the caching headers (`agora.platform.http.caching`, which may turn a 200 into a 304). A
valid incoming `traceparent` is honoured (its trace id is on every log line) and answered with
our span in the same trace; without one, a new trace id is started for the logs.

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
from agora.platform.http.headers import (
    finish_response_headers,
    queued_response_headers,
    read_request_headers,
)
from agora.platform.http.security_headers import SecurityHeaders
from agora.platform.observability import AccessLog, get_logger, request_id_var, trace_id_var

_SANE_REQUEST_ID = re.compile(rb"[\x21-\x7e]{1,128}")
_TRACEPARENT = re.compile(rb"([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})")
_ZERO_TRACE = b"0" * 32
_ZERO_SPAN = b"0" * 16

_SAFE = frozenset({"GET", "HEAD"})

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
        headers, head_bytes = read_request_headers(scope)
        request_id: str | None = None
        trace: tuple[str, str] | None = None
        refusal: AgoraError | None = None
        if len(scope["headers"]) > MAX_HEADERS or head_bytes > MAX_HEADER_BYTES:
            refusal = head_too_large()  # and no ids are taken from a refused head
        else:
            if b"x-request-id" in headers:
                request_id = sane_request_id(headers[b"x-request-id"])
            if b"traceparent" in headers:
                trace = parse_traceparent(headers[b"traceparent"])
            if len(scope.get("raw_path") or b"") + len(scope["query_string"]) > MAX_URL_BYTES:
                refusal = url_too_long()
        fresh = os.urandom(40).hex()  # one read of the random source for every id we need
        if request_id is None:
            request_id = fresh[:32]
        queued = queued_response_headers(scope)
        queued.append((b"x-request-id", request_id.encode()))
        if trace is not None:
            # The caller takes part in a trace: answer with our span in it.
            trace_id, flags = trace
            queued.append((b"traceparent", f"00-{trace_id}-{fresh[64:]}-{flags}".encode()))
        else:
            trace_id = fresh[32:64]
        scope.setdefault("state", {})["request_id"] = request_id
        status = 500
        started = finished = not_modified = False
        security = self.security
        https = scope.get("scheme") == "https"
        if_none_match = headers.get(b"if-none-match") if scope["method"] in _SAFE else None

        async def send_response(message: Message) -> None:
            nonlocal status, started, finished, not_modified
            if message["type"] == "http.response.start":
                started = True
                status, message["headers"] = finish_response_headers(
                    message["status"],
                    message.get("headers", ()),
                    security=security,
                    https=https,
                    if_none_match=if_none_match,
                    added=queued,
                )
                not_modified = status != message["status"]
                message["status"] = status
            else:
                if not message.get("more_body", False):
                    finished = True
                if not_modified:  # a 304 has no body: only the end of one goes out
                    if not finished:
                        return
                    message = {"type": "http.response.body", "body": b""}
            await send(message)

        request_token = request_id_var.set(request_id)
        trace_token = trace_id_var.set(trace_id)
        try:
            if refusal is not None:
                await send_error(send_response, refusal)
            else:
                await self.app(scope, receive, send_response)
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
            await send_error(send_response, error, head_only=scope["method"] == "HEAD")
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
