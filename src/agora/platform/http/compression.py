"""gzip for clients that accept it, with ETags that stay strong validators.

Starlette's GZipMiddleware compresses; this layer marks the ETag of a gzip-encoded body
(`"abc"` becomes `"abc-gzip"`), because a strong ETag must differ between content codings.
`agora.platform.etags` accepts either form in If-None-Match and If-Match.
"""

from starlette.middleware.gzip import GZipMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

GZIP_SUFFIX = "-gzip"


class CompressionMiddleware:
    def __init__(self, app: ASGIApp, *, minimum_size: int, level: int = 6) -> None:
        self.plain = app
        self.app = GZipMiddleware(app, minimum_size=minimum_size, compresslevel=level)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _accepts_gzip(scope):
            await self.plain(scope, receive, send)
            return

        async def send_marking_etag(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = message.get("headers", ())
                if (b"content-encoding", b"gzip") in headers:
                    message["headers"] = [
                        (name, _gzip_etag(value) if name == b"etag" else value)
                        for name, value in headers
                    ]
            await send(message)

        await self.app(scope, receive, send_marking_etag)


def _gzip_etag(value: bytes) -> bytes:
    if value.startswith(b"W/") or not value.endswith(b'"'):
        return value
    return value[:-1] + GZIP_SUFFIX.encode() + b'"'


def _accepts_gzip(scope: Scope) -> bool:
    for name, value in scope["headers"]:
        if name == b"accept-encoding":
            return b"gzip" in value
    return False
