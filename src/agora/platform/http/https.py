"""HTTPS enforcement behind a TLS-terminating proxy: 307 from http to https.

(HSTS on https answers is one of the security headers, see security_headers.py.)

The scheme comes from `X-Forwarded-Proto` only when the proxy is trusted (uvicorn's
ProxyHeadersMiddleware, configured with `AGORA_TRUSTED_PROXIES`, runs before this layer).
Health probes are exempt from the redirect: load balancers probe over plain HTTP.
"""

import re

from starlette.types import ASGIApp, Receive, Scope, Send

from agora.platform.errors import BadRequest, send_error
from agora.platform.http.callers import PROBE_PATHS
from agora.platform.http.headers import request_headers

_HOST = re.compile(rb"[A-Za-z0-9.\-]+(:[0-9]{1,5})?|\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?")


class HttpsMiddleware:
    """Redirects plain HTTP to HTTPS (installed only when `AGORA_FORCE_HTTPS` is on)."""

    def __init__(self, app: ASGIApp, *, public_host: str | None = None) -> None:
        self.app = app
        self.public_host = public_host.encode() if public_host else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["scheme"] == "http"
            and scope["path"] not in PROBE_PATHS
        ):
            await self._redirect(scope, send)
            return
        await self.app(scope, receive, send)

    async def _redirect(self, scope: Scope, send: Send) -> None:
        host = self.public_host or _request_host(scope)
        if host is None:
            await send_error(
                send, BadRequest("The Host header is missing or invalid.", field="Host")
            )
            return
        target = b"https://" + host + scope.get("raw_path", scope["path"].encode())
        if scope.get("query_string"):
            target += b"?" + scope["query_string"]
        await send(
            {
                "type": "http.response.start",
                "status": 307,
                "headers": [(b"location", target), (b"content-length", b"0")],
            }
        )
        await send({"type": "http.response.body", "body": b""})


def _request_host(scope: Scope) -> bytes | None:
    host = request_headers(scope).get(b"host")
    return host if host is not None and _HOST.fullmatch(host) else None
