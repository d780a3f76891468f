"""CORS for the configured origins only, with 204 preflights and enveloped refusals.

Starlette's CORSMiddleware does the matching; Agora changes what a preflight answers: 204 with
no body when allowed (docs/api.md, "Headers"), the error envelope when refused.
"""

from collections.abc import Sequence

from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from agora.platform.errors import BadRequest, error_response
from agora.platform.http.headers import request_headers

ALLOW_HEADERS = (
    "Accept",
    "Authorization",
    "Content-Type",
    "Idempotency-Key",
    "If-Match",
    "If-None-Match",
    "X-API-Key",
    "X-Request-ID",
    "traceparent",
)
EXPOSE_HEADERS = (
    "Deprecation",
    "ETag",
    "Idempotent-Replayed",
    "Link",
    "Location",
    "Retry-After",
    "Sunset",
    "X-RateLimit-Limit",
    "X-RateLimit-Remaining",
    "X-RateLimit-Reset",
    "X-Request-ID",
    "traceparent",
)
ALLOW_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")


class AgoraCORSMiddleware(CORSMiddleware):
    def __init__(self, app: ASGIApp, *, origins: Sequence[str], allow_credentials: bool) -> None:
        super().__init__(
            app,
            allow_origins=origins,
            allow_methods=ALLOW_METHODS,
            allow_headers=ALLOW_HEADERS,
            allow_credentials=allow_credentials,
            expose_headers=EXPOSE_HEADERS,
            max_age=600,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # Most requests are not cross-origin: no Origin header, nothing for CORS to do.
        if scope["type"] == "http" and b"origin" not in request_headers(scope):
            await self.app(scope, receive, send)
            return
        await super().__call__(scope, receive, send)

    def preflight_response(self, request_headers: Headers) -> Response:
        answer = super().preflight_response(request_headers)
        headers = {
            name: value
            for name, value in answer.headers.items()
            if name not in ("content-length", "content-type")
        }
        if answer.status_code == 200:
            return Response(status_code=204, headers=headers)
        reason = bytes(answer.body).decode(errors="replace")
        refusal = error_response(
            BadRequest(f"CORS preflight refused: {reason}.", code="cors_refused")
        )
        refusal.headers.update(headers)
        return refusal
