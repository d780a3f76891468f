"""HTTPS enforcement behind a TLS-terminating proxy: 307 to https, and HSTS on https answers.

The scheme comes from `X-Forwarded-Proto` only when the proxy is trusted (uvicorn's
ProxyHeadersMiddleware, configured with `AGORA_TRUSTED_PROXIES`, runs before this layer).
Health probes are exempt from the redirect: load balancers probe over plain HTTP.
"""

import re

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from agora.platform.errors import BadRequest, send_error

_HOST = re.compile(rb"[A-Za-z0-9.\-]+(:[0-9]{1,5})?|\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?")
EXEMPT_PATHS = frozenset({"/health", "/ready"})


class HttpsMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        force_https: bool,
        hsts_max_age: int,
        public_host: str | None = None,
    ) -> None:
        self.app = app
        self.force_https = force_https
        self.hsts = f"max-age={hsts_max_age}; includeSubDomains".encode() if hsts_max_age else None
        self.public_host = public_host.encode() if public_host else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["scheme"] == "http":
            if self.force_https and scope["path"] not in EXEMPT_PATHS:
                await self._redirect(scope, send)
                return
            await self.app(scope, receive, send)
            return
        if self.hsts is None:
            await self.app(scope, receive, send)
            return
        hsts = self.hsts

        async def send_with_hsts(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [
                    *message.get("headers", ()),
                    (b"strict-transport-security", hsts),
                ]
            await send(message)

        await self.app(scope, receive, send_with_hsts)

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
    for name, value in scope["headers"]:
        if name == b"host":
            return value if _HOST.fullmatch(value) else None
    return None
